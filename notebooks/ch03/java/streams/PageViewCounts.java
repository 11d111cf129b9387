import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyWindowStore;
import org.apache.kafka.streams.state.WindowStore;

/**
 * 3.5.1.3: page views (key = user, value = page) counted per page, in
 * tumbling windows and in total. Both counts live in state stores that an
 * HTTP endpoint on 127.0.0.1 reads while the application runs:
 *   GET /total?page=P    ReadOnlyKeyValueStore.get(P)
 *   GET /windows?page=P  ReadOnlyWindowStore.fetch(P, an hour ago, now)
 *
 * args: bootstrap applicationId stateDir inputTopic windowSeconds httpPort
 */
public class PageViewCounts {
    static final String TOTALS = "page-totals";
    static final String WINDOWED = "page-windows";

    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(StreamsConfig.STATE_DIR_CONFIG, args[2]);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
        Duration size = Duration.ofSeconds(Long.parseLong(args[4]));

        StreamsBuilder builder = new StreamsBuilder();
        KGroupedStream<String, String> byPage = builder
            .stream(args[3], Consumed.with(Serdes.String(), Serdes.String()))
            .groupBy((user, page) -> page,          // new key: a repartition
                     Grouped.with("by-page", Serdes.String(),
                                  Serdes.String()));
        byPage.windowedBy(TimeWindows.ofSizeWithNoGrace(size))
              .count(Materialized.<String, Long, WindowStore<Bytes, byte[]>>
                     as(WINDOWED).withRetention(Duration.ofHours(1)));
        byPage.count(Materialized.as(TOTALS));

        Topology topology = builder.build();
        System.out.println("=== topology ===");
        System.out.print(topology.describe());
        System.out.println("=== end topology ===");

        KafkaStreams streams = new KafkaStreams(topology, props);
        CountDownLatch ended = new CountDownLatch(1);
        streams.setStateListener((now, before) -> {
            System.out.println("state: " + before + " -> " + now);
            if (now == KafkaStreams.State.NOT_RUNNING
                    || now == KafkaStreams.State.ERROR) {
                ended.countDown();
            }
        });
        streams.setGlobalStateRestoreListener(new Restores());
        HttpServer http = HttpServer.create(
            new InetSocketAddress("127.0.0.1", Integer.parseInt(args[5])), 0);
        http.createContext("/total", ex -> answer(ex, () -> {
            ReadOnlyKeyValueStore<String, Long> store = streams.store(
                StoreQueryParameters.fromNameAndType(TOTALS,
                    QueryableStoreTypes.<String, Long>keyValueStore()));
            Long count = store.get(page(ex));
            return "{\"page\": \"" + page(ex) + "\", \"count\": "
                   + count + "}";
        }));
        http.createContext("/windows", ex -> answer(ex, () -> {
            ReadOnlyWindowStore<String, Long> store = streams.store(
                StoreQueryParameters.fromNameAndType(WINDOWED,
                    QueryableStoreTypes.<String, Long>windowStore()));
            StringBuilder json = new StringBuilder("[");
            Instant now = Instant.now();    // windows that started in the
            Instant from = now.minus(Duration.ofHours(1));     // last hour
            try (var it = store.fetch(page(ex), from, now)) {
                while (it.hasNext()) {
                    KeyValue<Long, Long> w = it.next(); // start, count
                    if (json.length() > 1) json.append(", ");
                    json.append("[").append(w.key).append(", ")
                        .append(w.value).append("]");
                }
            }
            return json.append("]").toString();
        }));
        http.start();
        System.out.println("HTTP 127.0.0.1:" + args[5] + " /total /windows");

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            http.stop(0);
            streams.close(CloseOptions.groupMembershipOperation(
                    CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                .withTimeout(Duration.ofSeconds(10)));
            // 상태 리스너는 상태를 바꾼 스레드가 잠금을 푼 뒤에 불린다
            // (KafkaStreams.setState). close()가 먼저 돌아오면 JVM이 마지막
            // 상태 줄을 찍기 전에 끝날 수 있으므로 그 줄을 기다린다.
            try {
                ended.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        streams.start();
    }

    static String page(HttpExchange ex) {
        String query = ex.getRequestURI().getQuery();   // page=<name>
        return query == null ? "" : query.replaceFirst("^page=", "");
    }

    interface Body { String get(); }

    /** 200 with the store's answer, 503 while it cannot be queried yet. */
    static void answer(HttpExchange ex, Body body) throws IOException {
        int status = 200;
        String text;
        try {
            text = body.get();
        } catch (InvalidStateStoreException e) {       // not queryable yet
            status = 503;
            text = "{\"error\": \"" + e.getClass().getSimpleName() + "\"}";
        } catch (RuntimeException e) {         // a bug: say so
            e.printStackTrace(System.out);
            status = 500;
            text = "{\"error\": \"" + e.getClass().getSimpleName() + "\"}";
        }
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** One line when a store starts and ends restoring from its changelog. */
    static class Restores implements StateRestoreListener {
        final Map<TopicPartition, Long> began = new ConcurrentHashMap<>();

        public void onRestoreStart(TopicPartition tp, String store,
                                   long start, long end) {
            began.put(tp, System.nanoTime());
            System.out.println("RESTORE START " + store + " from " + tp
                               + " offsets " + start + ".." + end);
        }
        public void onBatchRestored(TopicPartition tp, String store,
                                    long batchEnd, long restored) { }
        public void onRestoreEnd(TopicPartition tp, String store,
                                 long restored) {
            long ms = (System.nanoTime() - began.getOrDefault(tp, 0L))
                      / 1_000_000;
            System.out.println("RESTORE END " + store + " from " + tp
                               + " restored " + restored + " records in "
                               + ms + " ms");
        }
    }
}
