package kafkabook.spring.consumer;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.event.EventListener;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.annotation.PartitionOffset;
import org.springframework.kafka.annotation.TopicPartition;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.event.ConsumerStartedEvent;
import org.springframework.kafka.listener.AcknowledgingMessageListener;
import org.springframework.kafka.listener.CommonErrorHandler;
import org.springframework.kafka.listener.ConcurrentMessageListenerContainer;
import org.springframework.kafka.listener.ConsumerAwareRebalanceListener;
import org.springframework.kafka.listener.ContainerProperties.AckMode;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.listener.MessageListener;
import org.springframework.kafka.support.Acknowledgment;
import org.springframework.stereotype.Component;
import org.springframework.util.backoff.FixedBackOff;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * 4.4.2: Spring Kafka listeners. --demo.modes=record,batch,... chooses which
 * of the listeners below run; each prints one line per event on stdout:
 *   ASSIGNED group=g partitions=[t-0, ...]      (the rebalance listener)
 *   RECORD / BATCH / CONCURRENT / PARTITION / COMMIT / JSON ...  (listeners)
 * Topics and groups come from --demo.topic=... and --demo.group=...
 */
@SpringBootApplication
public class SpringConsumerApp {

    public static void main(String[] args) {
        SpringApplication.run(SpringConsumerApp.class, args);
    }

    static void say(String format, Object... args) {
        System.out.printf(format + "%n", args);
    }

    // ------------------------------------------------------------ readiness

    /** Boot gives this bean to every container it builds: prints assignments. */
    @Bean
    ConsumerAwareRebalanceListener printAssignments() {
        return new ConsumerAwareRebalanceListener() {
            @Override
            public void onPartitionsAssigned(Consumer<?, ?> consumer,
                    Collection<org.apache.kafka.common.TopicPartition> parts) {
                say("ASSIGNED group=%s partitions=%s thread=%s",
                        consumer.groupMetadata().groupId(), parts,
                        Thread.currentThread().getName());
            }

            @Override
            public void onPartitionsRevokedBeforeCommit(Consumer<?, ?> consumer,
                    Collection<org.apache.kafka.common.TopicPartition> parts) {
                say("REVOKED group=%s partitions=%s",
                        consumer.groupMetadata().groupId(), parts);
            }
        };
    }

    /** Published by each listener container's consumer thread as it starts. */
    @EventListener
    void started(ConsumerStartedEvent event) {
        say("CONSUMER-STARTED %s", event.getSource());
    }

    // ------------------------------------------------------------ record and batch

    @Component
    @ConditionalOnExpression("'${demo.modes}'.contains('record')")
    static class RecordListener {
        @KafkaListener(topics = "${demo.topic}", groupId = "${demo.group}-record")
        void onRecord(ConsumerRecord<String, String> rec) {
            say("RECORD partition=%d offset=%d key=%s value=%s",
                    rec.partition(), rec.offset(), rec.key(), rec.value());
        }
    }

    @Component
    @ConditionalOnExpression("'${demo.modes}'.contains('batch')")
    static class BatchListener {
        @KafkaListener(topics = "${demo.topic}", groupId = "${demo.group}-batch",
                batch = "true")
        void onBatch(List<ConsumerRecord<String, String>> records) {
            List<String> offsets = new ArrayList<>();
            records.forEach(r -> offsets.add(r.partition() + "-" + r.offset()));
            say("BATCH size=%d offsets=%s", records.size(), offsets);
        }
    }

    // ------------------------------------------------------------ concurrency, partitions

    @Component
    @ConditionalOnExpression("'${demo.modes}'.contains('concurrent')")
    static class ConcurrentListener {
        @KafkaListener(topics = "${demo.topic}", groupId = "${demo.group}-concurrent",
                concurrency = "3")
        void onRecord(ConsumerRecord<String, String> rec) {
            say("CONCURRENT thread=%s partition=%d offset=%d",
                    Thread.currentThread().getName(), rec.partition(),
                    rec.offset());
        }
    }

    @Component
    @ConditionalOnExpression("'${demo.modes}'.contains('partitions')")
    static class PartitionListener {
        // no group membership: the container assign()s these partitions itself
        @KafkaListener(groupId = "${demo.group}-partitions", topicPartitions = {
                @TopicPartition(topic = "${demo.topic}", partitions = {"0"}),
                @TopicPartition(topic = "${demo.topic}", partitionOffsets =
                        @PartitionOffset(partition = "1", initialOffset = "1"))})
        void onRecord(ConsumerRecord<String, String> rec) {
            say("PARTITION partition=%d offset=%d value=%s",
                    rec.partition(), rec.offset(), rec.value());
        }
    }

    // ------------------------------------------------------------ commit listener

    @Component
    @ConditionalOnExpression("'${demo.modes}'.contains('commit')")
    static class CommitListener {
        // needs spring.kafka.listener.ack-mode=MANUAL or MANUAL_IMMEDIATE
        @KafkaListener(topics = "${demo.topic}", groupId = "${demo.group}-commit")
        void onRecord(ConsumerRecord<String, String> rec, Acknowledgment ack) {
            say("COMMIT-LISTENER offset=%d value=%s", rec.offset(), rec.value());
            ack.acknowledge();
        }
    }

    // ------------------------------------------------------------ own container factory

    @Configuration
    @ConditionalOnExpression("'${demo.modes}'.contains('rebalance')")
    static class CustomFactoryConfiguration {
        @Bean
        ConcurrentKafkaListenerContainerFactory<String, String> customContainerFactory(
                ConsumerFactory<String, String> consumerFactory) {
            var factory = new ConcurrentKafkaListenerContainerFactory<String, String>();
            factory.setConsumerFactory(consumerFactory);
            factory.getContainerProperties().setAckMode(AckMode.RECORD);
            factory.getContainerProperties().setConsumerRebalanceListener(
                    new ConsumerAwareRebalanceListener() {
                        @Override
                        public void onPartitionsAssigned(Consumer<?, ?> consumer,
                                Collection<org.apache.kafka.common.TopicPartition> p) {
                            say("CUSTOM-ASSIGNED partitions=%s", p);
                        }

                        @Override
                        public void onPartitionsRevokedAfterCommit(
                                Consumer<?, ?> consumer,
                                Collection<org.apache.kafka.common.TopicPartition> p) {
                            say("CUSTOM-REVOKED partitions=%s", p);
                        }
                    });
            return factory;
        }
    }

    @Component
    @ConditionalOnExpression("'${demo.modes}'.contains('rebalance')")
    static class CustomFactoryListener {
        @KafkaListener(topics = "${demo.topic}", groupId = "${demo.group}-custom",
                containerFactory = "customContainerFactory")
        void onRecord(String value) {
            say("CUSTOM value=%s", value);
        }
    }

    // ------------------------------------------------------------ AckModes, measured

    /** One container per AckMode, each in its own group, each slow on purpose. */
    @Configuration
    @ConditionalOnExpression("'${demo.modes}'.contains('ackmodes')")
    static class AckModeContainers implements DisposableBean {
        private final List<ConcurrentMessageListenerContainer<?, ?>> containers =
                new ArrayList<>();

        @Bean
        ApplicationRunner startAckModeContainers(
                ConcurrentKafkaListenerContainerFactory<Object, Object> factory,
                @Value("${demo.topic}") String topic,
                @Value("${demo.group}") String group,
                @Value("${demo.delay-ms:300}") long delayMs) {
            return args -> {
                for (AckMode mode : AckMode.values()) {
                    var container = factory.createContainer(topic);
                    var props = container.getContainerProperties();
                    props.setGroupId(group + "-" + mode.name().toLowerCase());
                    props.setAckMode(mode);
                    props.setAckCount(3);         // COUNT, COUNT_TIME
                    props.setAckTime(1000);       // TIME, COUNT_TIME (ms)
                    boolean manual = mode == AckMode.MANUAL
                            || mode == AckMode.MANUAL_IMMEDIATE;
                    if (manual) {
                        props.setMessageListener((AcknowledgingMessageListener<Object,
                                Object>) (rec, ack) -> {
                            work(mode, rec, delayMs);
                            say("ACK mode=%s offset=%d at=%d", mode, rec.offset(),
                                    System.currentTimeMillis());
                            ack.acknowledge();
                        });
                    } else {
                        props.setMessageListener((MessageListener<Object, Object>)
                                rec -> work(mode, rec, delayMs));
                    }
                    container.start();
                    containers.add(container);
                }
            };
        }

        static void work(AckMode mode, ConsumerRecord<?, ?> rec, long delayMs) {
            try {
                Thread.sleep(delayMs);            // a slow listener
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            say("PROCESSED mode=%s offset=%d at=%d", mode, rec.offset(),
                    System.currentTimeMillis());
        }

        @Override
        public void destroy() {
            containers.forEach(c -> c.stop());
        }
    }

    // ------------------------------------------------------------ poison records

    @Configuration
    @ConditionalOnExpression("'${demo.modes}'.contains('json')")
    static class JsonListenerConfiguration {
        /** Boot puts this error handler into its container factory. */
        @Bean
        CommonErrorHandler errorHandler(KafkaTemplate<?, ?> template,
                @Value("${demo.dlt:false}") boolean dlt) {
            FixedBackOff twoRetries = new FixedBackOff(500L, 2L);  // 500 ms, 2 retries
            if (dlt) {
                // after the retries, publish the rec to <topic>-dlt
                return new DefaultErrorHandler(
                        new DeadLetterPublishingRecoverer(template), twoRetries);
            }
            return new DefaultErrorHandler(twoRetries);   // after the retries: log, skip
        }

        private final JsonMapper mapper = JsonMapper.builder().build();

        @KafkaListener(topics = "${demo.topic}", groupId = "${demo.group}-json")
        void onJson(ConsumerRecord<String, String> rec) {
            say("JSON-TRY offset=%d value=%s at=%d", rec.offset(), rec.value(),
                    System.currentTimeMillis());
            JsonNode order = mapper.readTree(rec.value());  // throws on non-JSON
            say("JSON-OK offset=%d item=%s", rec.offset(), order.path("item"));
        }
    }
}
