package kafkabook.spring.callback;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.CommandLineRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.support.SendResult;

/**
 * 4.4.1: a KafkaTemplate built from our own ProducerFactory (not from
 * application.yaml), and a completion callback on the CompletableFuture
 * that send() returns. A value longer than max.request.size fails in the
 * callback instead of in the caller.
 *   java ... SpringCallbackProducerApp --demo.topic=t --demo.bootstrap=host:port
 */
@SpringBootApplication
public class SpringCallbackProducerApp implements CommandLineRunner {

    @Value("${demo.topic}")
    private String topic;

    @Value("${demo.count:5}")
    private int count;

    @Value("${demo.big-value-bytes:0}")
    private int bigValueBytes;

    private final KafkaTemplate<String, String> customKafkaTemplate;

    public SpringCallbackProducerApp(
            KafkaTemplate<String, String> customKafkaTemplate) {
        this.customKafkaTemplate = customKafkaTemplate;
    }

    /** Our own producer settings and the template built on them. */
    @Configuration
    static class TemplateConfiguration {

        @Bean
        public ProducerFactory<String, String> customProducerFactory(
                @Value("${demo.bootstrap}") String bootstrap) {
            Map<String, Object> props = Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                    ProducerConfig.ACKS_CONFIG, "all",
                    ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 10_000);
            return new DefaultKafkaProducerFactory<>(props);
        }

        @Bean
        public KafkaTemplate<String, String> customKafkaTemplate(
                ProducerFactory<String, String> customProducerFactory) {
            return new KafkaTemplate<>(customProducerFactory);
        }
    }

    public static void main(String[] args) {
        SpringApplication.exit(
                SpringApplication.run(SpringCallbackProducerApp.class, args));
    }

    @Override
    public void run(String... args) throws Exception {
        int total = count + (bigValueBytes > 0 ? 1 : 0);
        CountDownLatch done = new CountDownLatch(total);
        for (int i = 0; i < total; i++) {
            String value = i < count ? "callback-" + i : "x".repeat(bigValueBytes);
            CompletableFuture<SendResult<String, String>> future =
                    customKafkaTemplate.send(topic, "cb-" + i, value);
            String key = "cb-" + i;
            // runs on the producer's I/O thread once the broker answered (or failed)
            future.whenComplete((result, ex) -> {
                if (ex == null) {
                    System.out.printf("ACKED key=%s partition=%d offset=%d%n", key,
                            result.getRecordMetadata().partition(),
                            result.getRecordMetadata().offset());
                } else {
                    System.out.printf("FAILED key=%s error=%s%n", key,
                            rootCause(ex).getClass().getSimpleName());
                }
                done.countDown();
            });
        }
        System.out.println("SENT-ALL " + total + " (the callbacks report later)");
        done.await();                        // the book's example exits at once here
        System.out.println("DONE " + total);
    }

    private static Throwable rootCause(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }
}
