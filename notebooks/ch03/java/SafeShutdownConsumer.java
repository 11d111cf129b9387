// 3.4.2 안전한 종료: 셧다운 훅이 wakeup()을 부르고, poll 루프는 WakeupException을 잡아 finally에서 close()한다.
// 실행: java -cp '.kafka/libs/*' SafeShutdownConsumer.java <bootstrap> <topic> <group> [classic|consumer]
import java.time.Duration;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;

public class SafeShutdownConsumer {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1], group = args[2];

        Properties configs = new Properties();
        configs.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        configs.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        configs.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                StringDeserializer.class.getName());
        configs.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                StringDeserializer.class.getName());
        configs.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        configs.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        if (args.length > 3) {   // classic(기본값) 또는 consumer(KIP-848)
            configs.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, args[3]);
        }

        KafkaConsumer<String, String> consumer = new KafkaConsumer<>(configs);
        Thread pollThread = Thread.currentThread();

        // SIGTERM(kill, Ctrl+C)을 받으면 JVM이 셧다운 훅을 실행한다.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("shutdown hook: consumer.wakeup()");
            consumer.wakeup();
            try {
                pollThread.join(10_000);   // close()가 끝날 때까지 JVM이 내려가지 않게 기다린다
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));

        try {
            consumer.subscribe(List.of(topic));
            while (true) {
                ConsumerRecords<String, String> records =
                        consumer.poll(Duration.ofSeconds(1));
                for (ConsumerRecord<String, String> rec : records) {
                    System.out.printf("record partition=%d offset=%d value=%s%n",
                            rec.partition(), rec.offset(), rec.value());
                }
                if (!records.isEmpty()) {
                    consumer.commitSync();
                    System.out.println("committed " + records.count() + " records");
                }
            }
        } catch (WakeupException e) {
            System.out.println("poll loop: WakeupException caught");
        } finally {
            consumer.close();   // 커밋을 마치고 LeaveGroup을 보내 그룹을 바로 떠난다
            System.out.println("consumer closed");
        }
    }
}
