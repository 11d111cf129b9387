// 3.5.1.1 스트림 필터: 값의 길이가 기준(기본 5)보다 긴 레코드만
// 출력 토픽에 쓴다.
// 실행: java -cp '.kafka/libs/*' StreamFilter.java <bootstrap> <application.id>
//       <state.dir> <입력 토픽> <출력 토픽> [기준 길이]
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.CloseOptions.GroupMembershipOperation;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.KStream;

public class StreamFilter {
    public static void main(String[] args) throws InterruptedException {
        String bootstrap = args[0], appId = args[1], stateDir = args[2];
        String input = args[3], output = args[4];
        int minLength = args.length > 5 ? Integer.parseInt(args[5]) : 5;

        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG,
                Serdes.StringSerde.class);
        props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG,
                Serdes.StringSerde.class);

        StreamsBuilder builder = new StreamsBuilder();
        KStream<String, String> logs = builder.stream(input);
        logs.filter((key, value) -> value.length() > minLength)
            .to(output);

        Topology topology = builder.build();
        System.out.println("=== topology ===");
        System.out.print(topology.describe());
        System.out.println("=== end topology ===");

        KafkaStreams streams = new KafkaStreams(topology, props);
        CountDownLatch stopped = new CountDownLatch(1);
        streams.setStateListener((newState, oldState) -> {
            System.out.println("state: " + oldState + " -> " + newState);
            if (newState == KafkaStreams.State.NOT_RUNNING
                    || newState == KafkaStreams.State.ERROR) {
                stopped.countDown();
            }
        });
        // SIGTERM(kill, Ctrl+C)을 받으면 그룹을 떠나며 닫는다.
        // 인자 없는 close()는 클래식 그룹 프로토콜에서 그룹에 남는다.
        CloseOptions leave = CloseOptions.groupMembershipOperation(
                GroupMembershipOperation.LEAVE_GROUP);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(leave);
            // 상태 리스너는 상태를 바꾼 스레드가 잠금을 푼 뒤에 불린다
            // (KafkaStreams.setState). close()가 먼저 돌아오면 JVM이 마지막
            // 상태 줄을 찍기 전에 끝날 수 있으므로 그 줄을 기다린다.
            try {
                stopped.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        streams.start();
        stopped.await();   // 앱이 멈추거나(NOT_RUNNING) 실패할(ERROR) 때까지
    }
}
