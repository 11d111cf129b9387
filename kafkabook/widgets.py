"""ipywidgets that draw only what the broker really holds (issue: 키 있는 레코드, 파티션 배치, 순서, 컨슈머 그룹).

Every widget talks to the real broker with kafka-python and draws with kafkabook.views. Put the
object last in a cell (or `display(w)`) to show it. `w.snapshot()` displays the current drawing once
more as ordinary HTML output, so an executed page shows it even where widget JavaScript does not run;
the same drawing also sits in an ipywidgets.HTML, i.e. in the saved widget state. Bad input (illegal
or unknown topic, oversize or non-UTF-8 key/value/header, broker down) gives a Korean message on the
status line; nothing is sent and the kernel goes on. The checks live in kafkabook.validate.

    RecordSender(topic, bootstrap=BOOTSTRAP)                          # 키 있는 레코드 보내기
        .topic .key .value .headers   text fields (empty key = null key; headers "k=v,k2=v2")
        .send_button                  sends the fields; .prediction shows the partition murmur2 gives first
        .burst_count .burst_keys .burst_button        N records over keys "고객-1" … "고객-K"
        .burst_batch .null_burst_button               N null-key records, flushed every `batch` records
        .send_record(key, value, headers=None) -> row | None   (key None = null; str or bytes)
        .burst(n, keys) / .null_burst(n, batch) -> [row] | None
        .predict(key) -> partition for a key now (None for a null key)
        .history [row], .last row: {"n","topic","key","value","headers","predicted","partition","offset","timestamp"}
                                   (partition, offset, timestamp = the RecordMetadata the broker returned)
        .on_sent(callback)            callback(rows) after each successful send
      Its producer uses kafka-python's StickyPartitioner (null keys switch partition with each new batch, KIP-480;
      the Java client switches after batch.size bytes since 3.3, KIP-794) and linger_ms=5 (the Java default since 4.0).
    PartitionPlacement(topic, sender=None, bootstrap=BOOTSTRAP)       # 파티션 배치
        .refresh() / .refresh_button  read every record back (kafkabook.topics.read_all) and redraw
        .lanes {partition: [record]}  .ends {partition: end offset}  .partitions (count now)
        .add_partitions(total) / .partitions_input + .add_partitions_button   (admin create_partitions)
        sender=...: refreshes after each send (same as sender.on_sent(placement.refresh))
    OrderingView(topic, one_partition_topic, bootstrap=BOOTSTRAP, count=12, keys=3)      # 순서
        .run() / .run_button          send 1..count over `keys` keys to both topics, read back with a consumer
        .count .keys                  the two number fields
        .results [{"topic","partitions","keys","produced","consumed","per_partition_ok","global_ok"}]
                  produced/consumed: [{"seq","key","partition","offset"}] in send / poll() order
    ConsumerGroupView(topic, group, bootstrap=BOOTSTRAP, consumers=0, reset=True)        # 컨슈머 그룹
        .add_consumer() / .add_button          one more real KafkaConsumer; waits for the rebalance
        .remove_consumer(name=None) / .remove_button   close the newest (or named) member
        .produce(n) / .produce_count + .produce_button  records with keys, so end offsets and lag grow
        .consume(max_records) / .consume_max + .consume_button   each member reads a little and commit()s
        .refresh() / .refresh_button
        .members [name]  .before / .after {"state","members":[{"name","member_id","partitions"}]}
        .rows [{"partition","owner","committed","end","lag"}]   committed/lag None before any commit
      reset=True deletes the group's old committed offsets first (idempotent notebooks); a new view on
      the same group closes an older one in this kernel.

Common to all: .panel (the displayed ipywidgets.VBox), .status and .drawing (ipywidgets.HTML),
.message / .ok (last status text and whether it was a success), .html() (status + drawing),
.snapshot(), .close(widgets=False) (closes every Kafka client the widget opened, their threads end,
and disables its buttons but keeps the drawing; closing .panel does the same), .closed.
close_all() closes every widget still open. Helpers: default_partition(key, partitions), spread_keys(n, partitions).

The widgets live one per module (record_sender, partition_placement, ordering_view, group_view) on the
shared plumbing of widget_base; this module gathers them under one name.
"""
from .group_view import ConsumerGroupView
from .key_partitions import default_partition, spread_keys
from .ordering_view import OrderingView
from .partition_placement import PartitionPlacement
from .record_sender import RecordSender
from .widget_base import close_all, record_dict  # noqa: F401  (record_dict: kept importable from here)

__all__ = ["RecordSender", "PartitionPlacement", "OrderingView", "ConsumerGroupView", "close_all",
           "default_partition", "spread_keys"]
