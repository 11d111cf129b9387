package book.connect;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.SourceConnector;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;

/**
 * A source connector in one file: every line of a text file becomes a record.
 * The connector checks the config and hands it to one task; the task reads the
 * file and remembers, as its source offset, how many lines it has sent.
 */
public class SingleFileSourceConnector extends SourceConnector {
    static final String FILE = "file";
    static final String TOPIC = "topic";
    static final ConfigDef CONFIG = new ConfigDef()
        .define(FILE, Type.STRING, ConfigDef.NO_DEFAULT_VALUE,
                new ConfigDef.NonEmptyString(), Importance.HIGH,
                "path of the text file to read")
        .define(TOPIC, Type.STRING, ConfigDef.NO_DEFAULT_VALUE,
                new ConfigDef.NonEmptyString(), Importance.HIGH,
                "topic the lines are written to");

    private Map<String, String> props;

    @Override public String version() { return "1.0"; }

    @Override public ConfigDef config() { return CONFIG; }

    @Override public void start(Map<String, String> props) {
        new AbstractConfig(CONFIG, props);   // refuses a bad config early
        this.props = props;
    }

    @Override public Class<? extends Task> taskClass() {
        return SingleFileSourceTask.class;
    }

    @Override public List<Map<String, String>> taskConfigs(int maxTasks) {
        return List.of(props);   // one file cannot be split: always one task
    }

    @Override public void stop() { }

    /** Reads the file from the line after the last one it sent. */
    public static class SingleFileSourceTask extends SourceTask {
        private Path file;
        private String topic;
        private Map<String, String> partition;   // which file
        private long sent;                       // lines sent so far

        @Override public String version() { return "1.0"; }

        @Override public void start(Map<String, String> props) {
            AbstractConfig config = new AbstractConfig(CONFIG, props);
            file = Path.of(config.getString(FILE));
            topic = config.getString(TOPIC);
            partition = Map.of("file", file.toString());
            Map<String, Object> offset =
                context.offsetStorageReader().offset(partition);
            sent = offset == null ? 0
                : ((Number) offset.get("line")).longValue();
        }

        @Override public List<SourceRecord> poll()
                throws InterruptedException {
            List<String> lines;
            try {
                lines = Files.exists(file)
                    ? Files.readAllLines(file, StandardCharsets.UTF_8)
                    : List.of();
            } catch (IOException e) {
                throw new ConnectException("cannot read " + file, e);
            }
            List<SourceRecord> records = new ArrayList<>();
            for (int i = (int) sent; i < lines.size(); i++) {
                sent = i + 1;
                records.add(new SourceRecord(partition,
                    Map.of("line", sent), topic,
                    Schema.STRING_SCHEMA, lines.get(i)));
            }
            if (records.isEmpty()) {
                Thread.sleep(200);   // nothing new: ask again shortly
                return null;
            }
            return records;
        }

        @Override public void stop() { }
    }
}
