package kafkabook.spring.callback;

import java.util.ArrayList;
import java.util.List;
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
import org.springframework.kafka.KafkaException;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.support.SendResult;

/**
 * 4.4.1: a KafkaTemplate built from our own ProducerFactory (not from
 * application.yaml), and a completion callback on the CompletableFuture
 * that send() returns. A value the broker refuses (longer than the topic's
 * max.message.bytes) fails in the callback; one longer than the producer's
 * max.request.size fails before sending, and send() throws.
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

    @Value("${demo.huge-value-bytes:0}")
    private int hugeValueBytes;

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
        List<String> values = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            values.add("callback-" + i);
        }
        if (bigValueBytes > 0) {
            values.add("b".repeat(bigValueBytes));    // the broker may refuse it
        }
        if (hugeValueBytes > 0) {
            values.add("h".repeat(hugeValueBytes));   // the producer refuses it
        }
        CountDownLatch done = new CountDownLatch(values.size());
        for (int i = 0; i < values.size(); i++) {
            String key = "cb-" + i;
            try {
                CompletableFuture<SendResult<String, String>> future =
                        customKafkaTemplate.send(topic, key, values.get(i));
                // runs on the producer's I/O thread once the broker answered
                future.whenComplete((result, ex) -> {
                    if (ex == null) {
                        System.out.printf("ACKED key=%s partition=%d offset=%d thread=%s%n",
                                key, result.getRecordMetadata().partition(),
                                result.getRecordMetadata().offset(), thread());
                    } else {
                        System.out.printf("FAILED key=%s error=%s thread=%s%n", key,
                                rootCause(ex).getClass().getSimpleName(), thread());
                    }
                    done.countDown();
                });
            } catch (KafkaException e) {
                // a failure known before sending: send() itself throws
                System.out.printf("THREW key=%s error=%s thread=%s%n", key,
                        rootCause(e).getClass().getSimpleName(), thread());
                done.countDown();
            }
        }
        System.out.printf("SENT-ALL count=%d thread=%s%n", values.size(), thread());
        done.await();                        // the book's example exits at once here
        System.out.println("DONE " + values.size());
    }

    private static String thread() {
        return Thread.currentThread().getName().replace(" ", "");
    }

    private static Throwable rootCause(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }
}
