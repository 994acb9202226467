package strom.conformance;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.ReduceFunction;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ArrayNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.streaming.api.datastream.AllWindowedStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.datastream.WindowedStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessAllWindowFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.functions.windowing.delta.DeltaFunction;
import org.apache.flink.streaming.api.windowing.assigners.DynamicEventTimeSessionWindows;
import org.apache.flink.streaming.api.windowing.assigners.EventTimeSessionWindows;
import org.apache.flink.streaming.api.windowing.assigners.GlobalWindows;
import org.apache.flink.streaming.api.windowing.assigners.SessionWindowTimeGapExtractor;
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.WindowAssigner;
import org.apache.flink.streaming.api.windowing.evictors.CountEvictor;
import org.apache.flink.streaming.api.windowing.evictors.DeltaEvictor;
import org.apache.flink.streaming.api.windowing.evictors.Evictor;
import org.apache.flink.streaming.api.windowing.evictors.TimeEvictor;
import org.apache.flink.streaming.api.windowing.triggers.ContinuousEventTimeTrigger;
import org.apache.flink.streaming.api.windowing.triggers.CountTrigger;
import org.apache.flink.streaming.api.windowing.triggers.EventTimeTrigger;
import org.apache.flink.streaming.api.windowing.triggers.PurgingTrigger;
import org.apache.flink.streaming.api.windowing.triggers.Trigger;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.streaming.api.windowing.windows.Window;
import org.apache.flink.streaming.util.TestStreamEnvironment;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The Java reference of strom's differential conformance suite.
 *
 * <p>Reads one case per line on stdin (a JSON object, see tests/conformance/generate.py for the
 * case language), runs it as a Flink job on one MiniCluster that lives as long as this JVM, and
 * prints one JSON line per case on stdout: {"id": ..., "out": [lines]} or {"id": ..., "error": msg}.
 * tests/conformance/strom_runner.py is the same interpreter on strom; both must format every
 * output line identically: {@code STREAM|watermark-at-emit|timestamp|key|rest}.
 */
@SuppressWarnings({"unchecked", "rawtypes", "serial"})
public final class Reference {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final OutputTag<Tuple3<String, Long, Long>> LATE =
            new OutputTag<Tuple3<String, Long, Long>>("late") {};

    private Reference() {}

    public static void main(String[] args) throws Exception {
        PrintStream results = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err); // Flink's own chatter must not mix with the results
        Configuration conf = new Configuration();
        MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                .setConfiguration(conf).setNumTaskManagers(1).setNumSlotsPerTaskManager(4).build());
        cluster.start();
        TestStreamEnvironment.setAsContext(cluster, 1);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode spec = JSON.readTree(line);
            ObjectNode reply = JSON.createObjectNode();
            reply.set("id", spec.get("id"));
            long start = System.nanoTime();
            try {
                ArrayNode out = reply.putArray("out");
                for (String s : run(spec)) {
                    out.add(s);
                }
            } catch (Throwable t) {
                reply.remove("out");
                Throwable root = t;
                while (root.getCause() != null && root.getCause() != root) {
                    root = root.getCause();
                }
                reply.put("error", root.getClass().getSimpleName() + ": " + root.getMessage());
            }
            reply.put("ms", (System.nanoTime() - start) / 1_000_000);
            results.println(JSON.writeValueAsString(reply));
        }
        cluster.close();
        System.exit(0);
    }

    // ---------------------------------------------------------------- the case interpreter

    static List<String> run(JsonNode spec) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(spec.path("parallelism").asInt(1));
        env.getConfig().setAutoWatermarkInterval(0); // watermarks only on events: deterministic
        List<Tuple3<String, Long, Long>> events = new ArrayList<>();
        for (JsonNode e : spec.get("events")) {
            events.add(Tuple3.of(e.get(0).asText(), e.get(1).asLong(), e.get(2).asLong()));
        }
        long ooo = spec.path("ooo").asLong(0);
        DataStream<Tuple3<String, Long, Long>> source = env.fromData(events).setParallelism(1)
                .assignTimestampsAndWatermarks(WatermarkStrategy
                        .<Tuple3<String, Long, Long>>forGenerator(ctx -> new PerEventWatermarks(ooo))
                        .withTimestampAssigner((e, previous) -> e.f1))
                .setParallelism(1);
        JsonNode op = spec.get("op");
        String kind = op.get("kind").asText();
        DataStream<String> tagged;
        switch (kind) {
            case "window":
                tagged = window(source, op);
                break;
            case "rolling":
                tagged = rolling(source.keyBy(new KeyOf()), op);
                break;
            case "process":
                tagged = tag((DataStream) source.keyBy(new KeyOf()).process(new Program(op), Types.STRING), "M");
                break;
            default:
                throw new IllegalArgumentException("unknown op kind " + kind);
        }
        List<String> out = new ArrayList<>();
        try (var it = tagged.executeAndCollect()) {
            it.forEachRemaining(out::add);
        }
        return out;
    }

    static DataStream<String> window(DataStream<Tuple3<String, Long, Long>> source, JsonNode op) {
        JsonNode a = op.get("assigner");
        String type = a.get("type").asText();
        boolean all = op.path("all").asBoolean(false);
        Object ws;
        if (all) {
            ws = type.equals("count")
                    ? (a.has("slide") ? source.countWindowAll(a.get("size").asLong(), a.get("slide").asLong())
                                      : source.countWindowAll(a.get("size").asLong()))
                    : source.windowAll(assigner(a));
        } else {
            KeyedStream<Tuple3<String, Long, Long>, String> keyed = source.keyBy(new KeyOf());
            ws = type.equals("count") ? keyed.countWindow(a.get("size").asLong()) : keyed.window(assigner(a));
        }
        if (op.hasNonNull("trigger")) {
            Trigger t = trigger(op.get("trigger"));
            ws = all ? ((AllWindowedStream) ws).trigger(t) : ((WindowedStream) ws).trigger(t);
        }
        if (op.hasNonNull("evictor")) {
            Evictor e = evictor(op.get("evictor"));
            ws = all ? ((AllWindowedStream) ws).evictor(e) : ((WindowedStream) ws).evictor(e);
        }
        if (op.path("lateness").asLong(0) != 0) {
            Duration l = Duration.ofMillis(op.get("lateness").asLong());
            ws = all ? ((AllWindowedStream) ws).allowedLateness(l) : ((WindowedStream) ws).allowedLateness(l);
        }
        boolean late = op.path("late_output").asBoolean(false);
        if (late) {
            ws = all ? ((AllWindowedStream) ws).sideOutputLateData(LATE) : ((WindowedStream) ws).sideOutputLateData(LATE);
        }
        String fn = op.get("function").asText();
        SingleOutputStreamOperator result;
        if (all) {
            AllWindowedStream s = (AllWindowedStream) ws;
            switch (fn) {
                case "reduce": result = s.reduce(new SumReduce()); break;
                case "aggregate": result = s.aggregate(new SumAggregate()); break;
                case "process": result = s.process(new ListAllElements(), Types.STRING); break;
                default: throw new IllegalArgumentException("function " + fn + " is not for window_all");
            }
        } else {
            WindowedStream s = (WindowedStream) ws;
            switch (fn) {
                case "reduce": result = s.reduce(new SumReduce()); break;
                case "aggregate": result = s.aggregate(new SumAggregate()); break;
                case "process": result = s.process(new ListElements(), Types.STRING); break;
                case "aggregate_process":
                    result = s.aggregate(new SumAggregate(), new WithWindow(), Types.STRING, Types.STRING, Types.STRING);
                    break;
                case "reduce_process": result = s.reduce(new SumReduce(), new WithWindow(), Types.STRING); break;
                default: throw new IllegalArgumentException("unknown function " + fn);
            }
        }
        // the tag keeps its input's parallelism (1 after a window_all): no rebalance reorders lines
        int parallelism = all ? 1 : result.getParallelism();
        DataStream<String> tagged = result.process(new Tag("M"), Types.STRING).setParallelism(parallelism);
        if (late) {
            tagged = tagged.union(result.getSideOutput(LATE).process(new Tag("L"), Types.STRING)
                    .setParallelism(parallelism));
        }
        return tagged;
    }

    static WindowAssigner assigner(JsonNode a) {
        switch (a.get("type").asText()) {
            case "tumbling":
                return TumblingEventTimeWindows.of(ms(a, "size"), ms(a, "offset"));
            case "sliding":
                return SlidingEventTimeWindows.of(ms(a, "size"), ms(a, "slide"), ms(a, "offset"));
            case "session":
                return EventTimeSessionWindows.withGap(ms(a, "gap"));
            case "dynamic_session":
                return DynamicEventTimeSessionWindows.withDynamicGap(
                        new GapOf(a.get("base").asLong(), a.get("mod").asLong()));
            case "global":
                return GlobalWindows.create();
            default:
                throw new IllegalArgumentException("unknown assigner " + a);
        }
    }

    static Trigger trigger(JsonNode t) {
        switch (t.get("type").asText()) {
            case "count": return CountTrigger.of(t.get("n").asLong());
            case "continuous": return ContinuousEventTimeTrigger.of(ms(t, "interval"));
            case "event_time": return EventTimeTrigger.create();
            case "purging": return PurgingTrigger.of(trigger(t.get("inner")));
            default: throw new IllegalArgumentException("unknown trigger " + t);
        }
    }

    static Evictor evictor(JsonNode e) {
        boolean after = e.path("after").asBoolean(false);
        switch (e.get("type").asText()) {
            case "count": return CountEvictor.of(e.get("n").asLong(), after);
            case "time": return TimeEvictor.of(ms(e, "ms"), after);
            case "delta": return DeltaEvictor.of(e.get("threshold").asDouble(), new ValueDelta(), after);
            default: throw new IllegalArgumentException("unknown evictor " + e);
        }
    }

    static DataStream<String> rolling(KeyedStream<Tuple3<String, Long, Long>, String> keyed, JsonNode op) {
        DataStream<Tuple3<String, Long, Long>> r;
        switch (op.get("agg").asText()) {
            case "sum": r = keyed.sum(2); break;
            case "min": r = keyed.min(2); break;
            case "max": r = keyed.max(2); break;
            case "min_by": r = keyed.minBy(2); break;
            case "max_by": r = keyed.maxBy(2); break;
            case "reduce": r = keyed.reduce(new SumReduce()); break;
            default: throw new IllegalArgumentException("unknown rolling aggregation " + op);
        }
        return tag((DataStream) r, "M");
    }

    static DataStream<String> tag(DataStream stream, String name) {
        return stream.process(new Tag(name), Types.STRING);
    }

    static Duration ms(JsonNode n, String field) {
        return Duration.ofMillis(n.path(field).asLong(0));
    }

    // ---------------------------------------------------------------- functions (mirrored in strom_runner.py)

    /** Bounded out-of-orderness, but a watermark (max - ooo - 1) after every event, never periodically. */
    static final class PerEventWatermarks implements WatermarkGenerator<Tuple3<String, Long, Long>> {
        private final long ooo;
        private long max = Long.MIN_VALUE + 1;

        PerEventWatermarks(long ooo) {
            this.ooo = ooo;
            this.max = Long.MIN_VALUE + ooo + 1;
        }

        @Override
        public void onEvent(Tuple3<String, Long, Long> event, long ts, WatermarkOutput output) {
            max = Math.max(max, ts);
            output.emitWatermark(new Watermark(max - ooo - 1));
        }

        @Override
        public void onPeriodicEmit(WatermarkOutput output) {}
    }

    static final class KeyOf implements KeySelector<Tuple3<String, Long, Long>, String> {
        @Override
        public String getKey(Tuple3<String, Long, Long> e) {
            return e.f0;
        }
    }

    static final class GapOf implements SessionWindowTimeGapExtractor<Tuple3<String, Long, Long>> {
        private final long base;
        private final long mod;

        GapOf(long base, long mod) {
            this.base = base;
            this.mod = mod;
        }

        @Override
        public long extract(Tuple3<String, Long, Long> e) {
            return base + Math.floorMod(e.f2, mod);
        }
    }

    static final class ValueDelta implements DeltaFunction<Tuple3<String, Long, Long>> {
        @Override
        public double getDelta(Tuple3<String, Long, Long> a, Tuple3<String, Long, Long> b) {
            return Math.abs(a.f2 - b.f2);
        }
    }

    /** Commutative, so the order in which merged session windows combine does not show. */
    static final class SumReduce implements ReduceFunction<Tuple3<String, Long, Long>> {
        @Override
        public Tuple3<String, Long, Long> reduce(Tuple3<String, Long, Long> a, Tuple3<String, Long, Long> b) {
            String k = a.f0.compareTo(b.f0) <= 0 ? a.f0 : b.f0;
            return Tuple3.of(k, Math.max(a.f1, b.f1), a.f2 + b.f2);
        }
    }

    /** Accumulator (key, count, sum); result "key|count,sum". */
    static final class SumAggregate implements AggregateFunction<Tuple3<String, Long, Long>, Tuple3<String, Long, Long>, String> {
        @Override
        public Tuple3<String, Long, Long> createAccumulator() {
            return Tuple3.of("", 0L, 0L);
        }

        @Override
        public Tuple3<String, Long, Long> add(Tuple3<String, Long, Long> e, Tuple3<String, Long, Long> acc) {
            String k = acc.f0.isEmpty() || e.f0.compareTo(acc.f0) < 0 ? e.f0 : acc.f0;
            return Tuple3.of(k, acc.f1 + 1, acc.f2 + e.f2);
        }

        @Override
        public String getResult(Tuple3<String, Long, Long> acc) {
            return acc.f0 + "|" + acc.f1 + "," + acc.f2;
        }

        @Override
        public Tuple3<String, Long, Long> merge(Tuple3<String, Long, Long> a, Tuple3<String, Long, Long> b) {
            String k = a.f0.isEmpty() ? b.f0 : (b.f0.isEmpty() || a.f0.compareTo(b.f0) <= 0 ? a.f0 : b.f0);
            return Tuple3.of(k, a.f1 + b.f1, a.f2 + b.f2);
        }
    }

    static String window(Window w) {
        if (w instanceof TimeWindow tw) {
            return tw.getStart() + "," + tw.getEnd();
        }
        return "G";
    }

    static String elements(Iterable<Tuple3<String, Long, Long>> elements) {
        StringBuilder sb = new StringBuilder();
        for (Tuple3<String, Long, Long> e : elements) {
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append(e.f0).append(':').append(e.f2).append('@').append(e.f1);
        }
        return sb.toString();
    }

    /** "key|window|[k:v@ts ...]" in the order the window holds them. */
    static final class ListElements extends ProcessWindowFunction<Tuple3<String, Long, Long>, String, String, Window> {
        @Override
        public void process(String key, Context ctx, Iterable<Tuple3<String, Long, Long>> elements, Collector<String> out) {
            out.collect(key + "|" + window(ctx.window()) + ",[" + elements(elements) + "]");
        }
    }

    static final class ListAllElements extends ProcessAllWindowFunction<Tuple3<String, Long, Long>, String, Window> {
        @Override
        public void process(Context ctx, Iterable<Tuple3<String, Long, Long>> elements, Collector<String> out) {
            out.collect("*|" + window(ctx.window()) + ",[" + elements(elements) + "]");
        }
    }

    /** After a reduce or an aggregate: "key|window,<pre-aggregated value>". */
    static final class WithWindow extends ProcessWindowFunction<Object, String, String, Window> {
        @Override
        public void process(String key, Context ctx, Iterable<Object> values, Collector<String> out) {
            for (Object v : values) {
                out.collect(key + "|" + window(ctx.window()) + "," + Tag.format(v).replace('|', '/'));
            }
        }
    }

    /** A keyed program: value and list state, an event-time timer per element, optional deletes and chains. */
    static final class Program extends KeyedProcessFunction<String, Tuple3<String, Long, Long>, String> {
        private final long delta;
        private final boolean delete;
        private final boolean clear;
        private final long chain;
        private transient ValueState<Long> sum;
        private transient ValueState<Long> timer;
        private transient ValueState<Long> chained;
        private transient ListState<Long> values;

        Program(JsonNode op) {
            delta = op.get("delta").asLong();
            delete = op.get("delete").asBoolean();
            clear = op.get("clear").asBoolean();
            chain = op.get("chain").asLong();
        }

        @Override
        public void open(OpenContext ctx) {
            sum = getRuntimeContext().getState(new ValueStateDescriptor<>("sum", Types.LONG));
            timer = getRuntimeContext().getState(new ValueStateDescriptor<>("timer", Types.LONG));
            chained = getRuntimeContext().getState(new ValueStateDescriptor<>("chained", Types.LONG));
            values = getRuntimeContext().getListState(new ListStateDescriptor<>("values", Types.LONG));
        }

        @Override
        public void processElement(Tuple3<String, Long, Long> e, Context ctx, Collector<String> out) throws Exception {
            long s = (sum.value() == null ? 0 : sum.value()) + e.f2;
            sum.update(s);
            values.add(e.f2);
            if (delete && timer.value() != null) {
                ctx.timerService().deleteEventTimeTimer(timer.value());
            }
            long t = ctx.timestamp() + delta;
            ctx.timerService().registerEventTimeTimer(t);
            timer.update(t);
            out.collect(e.f0 + "|E," + ctx.timestamp() + "," + s + "," + ctx.timerService().currentWatermark());
        }

        @Override
        public void onTimer(long ts, OnTimerContext ctx, Collector<String> out) throws Exception {
            StringBuilder vs = new StringBuilder();
            Iterable<Long> it = values.get();
            if (it != null) {
                for (Long v : it) {
                    vs.append(vs.length() == 0 ? "" : " ").append(v);
                }
            }
            out.collect(ctx.getCurrentKey() + "|T," + ts + "," + (sum.value() == null ? "-" : sum.value())
                    + ",[" + vs + "]," + ctx.timerService().currentWatermark());
            if (clear) {
                sum.clear();
                values.clear();
                timer.clear();
            }
            long c = chained.value() == null ? 0 : chained.value();
            if (c < chain) {
                chained.update(c + 1);
                ctx.timerService().registerEventTimeTimer(ts + delta + 1);
            }
        }
    }

    /** The last operator of every case: "STREAM|watermark|timestamp|formatted value". */
    static final class Tag extends ProcessFunction<Object, String> {
        private final String stream;

        Tag(String stream) {
            this.stream = stream;
        }

        static String format(Object v) {
            if (v instanceof Tuple3 t) {
                return t.f0 + "|" + t.f1 + "," + t.f2;
            }
            return String.valueOf(v);
        }

        @Override
        public void processElement(Object v, Context ctx, Collector<String> out) {
            Long ts = ctx.timestamp();
            out.collect(stream + "|" + ctx.timerService().currentWatermark() + "|" + (ts == null ? "-" : ts)
                    + "|" + format(v));
        }
    }
}
