// 3.5.1.1 스트림 필터: 값의 길이가 기준(기본 5)보다 긴 레코드만 출력 토픽에 쓴다.
// 실행: java -cp '.kafka/libs/*' StreamFilter.java <bootstrap> <application.id> <state.dir>
//       <입력 토픽> <출력 토픽> [기준 길이]
import java.util.Properties;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.KStream;

public class StreamFilter {
    public static void main(String[] args) {
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
        streams.setStateListener((newState, oldState) ->
                System.out.println("state: " + oldState + " -> " + newState));
        Runtime.getRuntime().addShutdownHook(new Thread(streams::close));
        streams.start();
    }
}
