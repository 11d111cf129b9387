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
 * 4.3.3: one member of a consumer group. It needs workMs to process each
 * batch (a database write, say), commits after each batch and before giving
 * partitions up, and prints each event as a JSON line with its time.
 *
 * args: bootstrap topic group clientId protocol(classic|consumer)
 *       strategy(class name, classic only) workMs
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
        } catch (KafkaException e) {        // a rebalance got in between
            String error = e.getClass().getSimpleName();
            emit("commit_failed", ",\"error\":\"" + error + "\"");
        }
    }

    public static void main(String[] args) throws Exception {
        String protocol = args[4];
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, args[2]);
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, args[3]);
        props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        if (protocol.equals("classic")) {   // "consumer": the broker assigns
            props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
                    args[5]);
        }
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        String deserializer = StringDeserializer.class.getName();
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, deserializer);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                deserializer);
        long workMs = Long.parseLong(args[6]);

        KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props);
        Thread main = Thread.currentThread();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            consumer.wakeup();   // SIGTERM: leave poll(), close, leave group
            try {
                main.join(20_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));

        String topic = args[1];
        consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> tps) {
                if (!tps.isEmpty()) {
                    commit(consumer);    // everything polled is processed
                }
                emit("partitions_revoked", partitions(tps));
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> tps) {
                emit("partitions_assigned", partitions(tps));
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> tps) {
                emit("partitions_lost", partitions(tps));   // no commit
            }
        });
        emit("startup_complete", "");
        try {
            while (true) {
                ConsumerRecords<String, String> records =
                        consumer.poll(Duration.ofMillis(100));
                if (records.isEmpty()) {
                    continue;
                }
                Thread.sleep(workMs);            // processing the batch
                Map<Integer, long[]> range = new HashMap<>();
                for (ConsumerRecord<String, String> r : records) {
                    range.merge(r.partition(),
                            new long[] {r.offset(), r.offset()},
                            (a, b) -> new long[] {Math.min(a[0], b[0]),
                                                  Math.max(a[1], b[1])});
                }
                List<String> items = new ArrayList<>();
                range.forEach((p, o) -> items.add("{\"partition\":" + p
                        + ",\"minOffset\":" + o[0]
                        + ",\"maxOffset\":" + o[1] + "}"));
                emit("records_consumed",
                        ",\"partitions\":[" + String.join(",", items) + "]");
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
