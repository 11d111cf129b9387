package kafkabook.spring.producer;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.CommandLineRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.support.SendResult;

/**
 * 4.4.1: the KafkaTemplate that Spring Boot builds from application.yaml.
 * Sends `count` records with keys key-0..key-(keys-1) to `topic`, waits for
 * each acknowledgement and prints where it landed, then exits.
 *   java ... SpringProducerApp --demo.topic=t --demo.count=10 --demo.keys=3
 */
@SpringBootApplication
public class SpringProducerApp implements CommandLineRunner {

    private final KafkaTemplate<String, String> template;

    @Value("${demo.topic}")
    private String topic;

    @Value("${demo.count:10}")
    private int count;

    @Value("${demo.keys:3}")
    private int keys;

    public SpringProducerApp(KafkaTemplate<String, String> template) {
        this.template = template;           // the one Boot auto-configured
    }

    public static void main(String[] args) {
        // run() returns once every record is acknowledged; exit ends the JVM
        SpringApplication.exit(SpringApplication.run(SpringProducerApp.class, args));
    }

    @Override
    public void run(String... args) throws Exception {
        for (int i = 0; i < count; i++) {
            String key = "key-" + (i % keys);
            // send() returns a CompletableFuture; join() waits for the broker's ack
            SendResult<String, String> sent =
                    template.send(topic, key, "test" + i).join();
            System.out.printf("SENT key=%s value=%s partition=%d offset=%d%n",
                    key, "test" + i, sent.getRecordMetadata().partition(),
                    sent.getRecordMetadata().offset());
        }
        System.out.println("DONE " + count);
    }
}
