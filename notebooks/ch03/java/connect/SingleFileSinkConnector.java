package book.connect;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.sink.SinkConnector;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;

/**
 * A sink connector in one file: every record value becomes a line of a file.
 * The worker's consumer reads the topics; the task only writes, and flushes
 * the file when the worker is about to commit the consumer offsets.
 */
public class SingleFileSinkConnector extends SinkConnector {
    static final String FILE = "file";
    static final ConfigDef CONFIG = new ConfigDef()
        .define(FILE, Type.STRING, ConfigDef.NO_DEFAULT_VALUE,
                new ConfigDef.NonEmptyString(), Importance.HIGH,
                "path of the file the values are appended to");

    private Map<String, String> props;

    @Override public String version() { return "1.0"; }

    @Override public ConfigDef config() { return CONFIG; }

    @Override public void start(Map<String, String> props) {
        new AbstractConfig(CONFIG, props);
        this.props = props;
    }

    @Override public Class<? extends Task> taskClass() {
        return SingleFileSinkTask.class;
    }

    @Override public List<Map<String, String>> taskConfigs(int maxTasks) {
        return List.of(props);   // one file, one writer
    }

    @Override public void stop() { }

    /** Appends each value as a line; flush() makes the lines durable. */
    public static class SingleFileSinkTask extends SinkTask {
        private BufferedWriter out;

        @Override public String version() { return "1.0"; }

        @Override public void start(Map<String, String> props) {
            Path file = Path.of(
                new AbstractConfig(CONFIG, props).getString(FILE));
            try {
                out = Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new ConnectException("cannot open " + file, e);
            }
        }

        @Override public void put(Collection<SinkRecord> records) {
            try {
                for (SinkRecord rec : records) {
                    out.write(String.valueOf(rec.value()));
                    out.newLine();
                }
            } catch (IOException e) {
                throw new ConnectException("cannot write", e);
            }
        }

        @Override public void flush(
                Map<TopicPartition, OffsetAndMetadata> offsets) {
            try {
                out.flush();   // before the worker commits these offsets
            } catch (IOException e) {
                throw new ConnectException("cannot flush", e);
            }
        }

        @Override public void stop() {
            try {
                if (out != null) out.close();
            } catch (IOException e) {
                throw new ConnectException("cannot close", e);
            }
        }
    }
}
