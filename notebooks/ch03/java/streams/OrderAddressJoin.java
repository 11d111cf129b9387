import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler
    .StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;

/**
 * 3.5.1.2: orders (KStream) joined with the customers' addresses (KTable).
 * Both topics are keyed by the customer; the join looks the order's key up
 * in the table and writes "order -> address" to the output topic.
 *
 * args: bootstrap applicationId stateDir ordersTopic addressTopic outputTopic
 *       [groupProtocol: classic (default) or streams]
 */
public class OrderAddressJoin {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(StreamsConfig.STATE_DIR_CONFIG, args[2]);
        props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG,
                  Serdes.StringSerde.class);
        props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG,
                  Serdes.StringSerde.class);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
        if (args.length > 6) {
            props.put(StreamsConfig.GROUP_PROTOCOL_CONFIG, args[6]);
        }

        StreamsBuilder builder = new StreamsBuilder();
        KTable<String, String> addresses = builder.table(args[4]);
        KStream<String, String> orders = builder.stream(args[3]);
        orders.join(addresses, (order, address) -> order + " -> " + address)
              .to(args[5]);

        Topology topology = builder.build();
        System.out.println("=== topology ===");
        System.out.print(topology.describe());
        System.out.println("=== end topology ===");

        KafkaStreams streams = new KafkaStreams(topology, props);
        CountDownLatch ended = new CountDownLatch(1);
        streams.setStateListener((now, before) -> {
            System.out.println("state: " + before + " -> " + now);
            if (now == KafkaStreams.State.NOT_RUNNING
                    || now == KafkaStreams.State.ERROR) {
                ended.countDown();
            }
        });
        streams.setUncaughtExceptionHandler(e -> {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            System.out.println("FAILED " + cause.getClass().getName()
                               + ": " + cause.getMessage());
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(CloseOptions.groupMembershipOperation(
                    CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                .withTimeout(Duration.ofSeconds(10)));
            // 상태 리스너는 상태를 바꾼 스레드가 잠금을 푼 뒤에 불린다
            // (KafkaStreams.setState). close()가 먼저 돌아오면 JVM이 마지막
            // 상태 줄을 찍기 전에 끝날 수 있으므로 그 줄을 기다린다.
            try {
                ended.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        streams.start();
    }
}
