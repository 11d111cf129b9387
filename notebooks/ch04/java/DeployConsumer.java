import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * 4.3.3: one member of a consumer group that needs workMs to process each batch
 * (a database write, say), commits after each batch and before giving partitions
 * up, and prints each event as a JSON line with the time it happened.
 *
 * args: bootstrap topic group clientId protocol(classic|consumer) strategy workMs
 */
public class DeployConsumer {

    static synchronized void emit(String name, String body) {
        System.out.println("{\"timestamp\":" + System.currentTimeMillis()
                + ",\"name\":\"" + name + "\"" + body + "}");
    }

    static String partitions(Collection<TopicPartition> tps) {
        List<String> items = new ArrayList<>();
        for (TopicPartition tp : tps) {
            items.add("{\"partition\":" + tp.partition() + "}");
        }
        return ",\"partitions\":[" + String.join(",", items) + "]";
    }

    static void commit(KafkaConsumer<String, String> consumer) {
        try {
            consumer.commitSync();
        } catch (WakeupException e) {
            throw e;
        } catch (KafkaException e) {                // a rebalance got in between
            emit("commit_failed", ",\"error\":\"" + e.getClass().getSimpleName() + "\"");
        }
    }

    public static void main(String[] args) throws Exception {
        String protocol = args[4];
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, args[2]);
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, args[3]);
        props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        if (protocol.equals("classic")) {     // the consumer protocol assigns on the broker
            props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, args[5]);
        }
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        long workMs = Long.parseLong(args[6]);

        KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props);
        Thread main = Thread.currentThread();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            consumer.wakeup();                   // SIGTERM: leave the poll loop, close, leave the group
            try {
                main.join(20_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));

        consumer.subscribe(List.of(args[1]), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
                if (!revoked.isEmpty()) {
                    commit(consumer);           // everything polled so far is processed
                }
                emit("partitions_revoked", partitions(revoked));
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> lost) {
                emit("partitions_lost", partitions(lost));   // not ours any more: no commit
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
                emit("partitions_assigned", partitions(assigned));
            }
        });
        emit("startup_complete", "");
        try {
            while (true) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(100));
                if (records.isEmpty()) {
                    continue;
                }
                Thread.sleep(workMs);            // processing the batch
                Map<Integer, long[]> range = new HashMap<>();
                for (ConsumerRecord<String, String> r : records) {
                    range.merge(r.partition(), new long[] {r.offset(), r.offset()},
                            (a, b) -> new long[] {Math.min(a[0], b[0]), Math.max(a[1], b[1])});
                }
                List<String> items = new ArrayList<>();
                range.forEach((p, r) -> items.add("{\"partition\":" + p + ",\"minOffset\":" + r[0]
                        + ",\"maxOffset\":" + r[1] + "}"));
                emit("records_consumed", ",\"partitions\":[" + String.join(",", items) + "]");
                commit(consumer);
            }
        } catch (WakeupException e) {
            // shutting down
        } finally {
            consumer.close();
            emit("shutdown_complete", "");
        }
    }
}
