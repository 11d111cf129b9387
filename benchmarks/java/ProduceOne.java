// The benchmark's JVM program (benchmarks/bench.py, "JavaProgram start"): a producer sends one record and exits.
import java.util.Properties;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

public class ProduceOne {
    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        try (KafkaProducer<String, String> producer =
                 new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            System.out.println("offset " + producer.send(new ProducerRecord<>(args[1], "k", "v")).get().offset());
        }
    }
}
