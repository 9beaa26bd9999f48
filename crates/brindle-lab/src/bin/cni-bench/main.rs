//! `cni-bench` (run by `make bench-cni` through scripts/bench-cni.sh, inside a throw-away "host"
//! network namespace): CNI plugins side by side in one run. Each case is a network
//! configuration; its plugin (`type`, found in `--cni-path`) is run as a container runtime runs
//! it: `CNI_*` variables, the configuration on stdin, one process per call, the pod's network
//! namespace (pre-created by the script) named in `CNI_NETNS`.
//!
//! Per case: ADD then DEL of N pods (default 200) one after the other, then ADD and DEL of the
//! same pods with P (default 16) calls in flight; latency p50 and p99 of each. The first case is
//! the reference the ratios and targets compare with (ptp + host-local).
//!
//! The CPU time (user + system) the plugins of a case spend per sequential ADD is measured too
//! (from this process's waited-for children, so a delegated IPAM plugin counts): with P calls
//! started at once on C cores, the last cannot finish before P × that / C, which is printed
//! beside the parallel target.
//!
//! Not a test: it prints figures and ratios, because this machine is shared and noisy.

use brindle_lab::stats::quantile_ms;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

type Res<T> = Result<T, String>;

/// One configuration to measure.
struct Case {
    /// Column label.
    name: String,
    /// The network configuration (stdin of every call).
    config: Vec<u8>,
    /// The plugin binary (`<cni-path>/<type>`).
    plugin: PathBuf,
}

struct Opts {
    cni_path: PathBuf,
    /// Pod network namespaces are `<netns-prefix><i>` for i in 0..pods.
    netns_prefix: String,
    pods: usize,
    parallel: usize,
    warmup: usize,
    cases: Vec<Case>,
    /// Cases the single-call targets apply to (brindle with brindle-ipam on SQLite).
    sqlite_cases: Vec<String>,
}

fn usage() -> String {
    "usage: cni-bench --cni-path DIR --netns-prefix PFX --case NAME=CONFIG.json... \
     [--sqlite-case NAME] [--pods N] [--parallel P] [--warmup W]"
        .into()
}

fn opts() -> Res<Opts> {
    let mut o = Opts {
        cni_path: PathBuf::from("/usr/lib/cni"),
        netns_prefix: String::new(),
        pods: 200,
        parallel: 16,
        warmup: 3,
        cases: Vec::new(),
        sqlite_cases: Vec::new(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    let mut case_specs = Vec::new();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        let num = |v: String, what: &str| -> Res<usize> {
            v.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(format!("{what}: {v:?} is not a positive number"))
        };
        match a.as_str() {
            "--cni-path" => o.cni_path = PathBuf::from(val()?),
            "--netns-prefix" => o.netns_prefix = val()?,
            "--pods" => o.pods = num(val()?, "--pods")?,
            "--parallel" => o.parallel = num(val()?, "--parallel")?,
            "--warmup" => o.warmup = val()?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--case" => case_specs.push(val()?),
            "--sqlite-case" => o.sqlite_cases.push(val()?),
            "-h" | "--help" => return Err(usage()),
            other => return Err(format!("unknown argument {other:?}; {}", usage())),
        }
    }
    if o.netns_prefix.is_empty() || case_specs.is_empty() {
        return Err(usage());
    }
    o.warmup = o.warmup.min(o.pods);
    for spec in case_specs {
        let (name, file) = spec
            .split_once('=')
            .ok_or(format!("--case {spec:?}: expected NAME=CONFIG.json"))?;
        let config =
            std::fs::read(file).map_err(|e| format!("--case {name}: cannot read {file}: {e}"))?;
        let v: Value = serde_json::from_slice(&config)
            .map_err(|e| format!("--case {name}: {file} is not JSON: {e}"))?;
        let ty = v
            .get("type")
            .and_then(Value::as_str)
            .ok_or(format!("--case {name}: {file} has no \"type\""))?;
        o.cases.push(Case {
            name: name.to_string(),
            plugin: o.cni_path.join(ty),
            config,
        });
    }
    Ok(o)
}

/// One CNI call; its wall time from spawn to exit.
fn invoke(o: &Opts, case: &Case, command: &str, pod: usize, phase: &str) -> Res<Duration> {
    let container = format!("cnibench-{phase}-{pod:04}");
    let netns = Path::new("/run/netns").join(format!("{}{pod}", o.netns_prefix));
    let started = Instant::now();
    let mut child = Command::new(&case.plugin)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", &container)
        .env("CNI_NETNS", &netns)
        .env("CNI_IFNAME", "eth0")
        .env("CNI_PATH", &o.cni_path)
        .env(
            "CNI_ARGS",
            format!("IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod-{phase}-{pod}"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", case.plugin.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(&case.config)
            .map_err(|e| format!("writing the config to {}: {e}", case.plugin.display()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for {}: {e}", case.plugin.display()))?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{} {command} of pod {pod} failed ({}): {} {}",
            case.name,
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(took)
}

/// `command` for pods 0..n with `parallel` calls in flight; every call's latency, or the
/// first error.
fn phase(
    o: &Opts,
    case: &Case,
    command: &str,
    n: usize,
    parallel: usize,
    tag: &str,
) -> Res<Vec<Duration>> {
    let next = AtomicUsize::new(0);
    let times = Mutex::new(Vec::with_capacity(n));
    let error: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..parallel.min(n) {
            s.spawn(|| {
                loop {
                    let pod = next.fetch_add(1, Ordering::Relaxed);
                    if pod >= n || error.lock().map(|e| e.is_some()).unwrap_or(true) {
                        break;
                    }
                    match invoke(o, case, command, pod, tag) {
                        Ok(t) => {
                            if let Ok(mut v) = times.lock() {
                                v.push(t);
                            }
                        }
                        Err(e) => {
                            if let Ok(mut slot) = error.lock() {
                                slot.get_or_insert(e);
                            }
                            break;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = error.into_inner().ok().flatten() {
        return Err(e);
    }
    times.into_inner().map_err(|_| "a worker panicked".into())
}

/// Latency figures of one case.
#[derive(Default)]
struct Figures {
    seq_add: Vec<Duration>,
    seq_del: Vec<Duration>,
    par_add: Vec<Duration>,
    par_del: Vec<Duration>,
    /// CPU time (user + system) of the plugin processes per sequential ADD.
    cpu_per_add: Option<Duration>,
}

/// The CPU time (user + system) of every child process this process has waited for, from
/// `/proc/self/stat` (fields 16 and 17, `cutime` and `cstime`, in clock ticks).
fn children_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start with field 3, the state.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(13)?.parse::<u64>().ok()? + fields.get(14)?.parse::<u64>().ok()?;
    let hz = rustix::param::clock_ticks_per_second();
    (hz > 0).then(|| Duration::from_secs_f64(ticks as f64 / hz as f64))
}

/// Best-effort DEL of every pod of `tag`, so that a failed case leaves the namespaces clean
/// for the next one.
fn sweep(o: &Opts, case: &Case, tag: &str) {
    for pod in 0..o.pods {
        let _ = invoke(o, case, "DEL", pod, tag);
    }
}

fn measure(o: &Opts, case: &Case) -> Res<Figures> {
    let mut f = Figures::default();
    let step = |cmd: &str, par: usize, tag: &str, n: usize| {
        phase(o, case, cmd, n, par, tag).inspect_err(|_| sweep(o, case, tag))
    };
    if o.warmup > 0 {
        step("ADD", 1, "warm", o.warmup)?;
        step("DEL", 1, "warm", o.warmup)?;
    }
    let cpu_before = children_cpu();
    f.seq_add = step("ADD", 1, "seq", o.pods)?;
    f.cpu_per_add = match (cpu_before, children_cpu()) {
        (Some(a), Some(b)) if o.pods > 0 => Some(b.saturating_sub(a) / o.pods as u32),
        _ => None,
    };
    f.seq_del = step("DEL", 1, "seq", o.pods)?;
    f.par_add = step("ADD", o.parallel, "par", o.pods)?;
    f.par_del = step("DEL", o.parallel, "par", o.pods)?;
    Ok(f)
}

fn main() {
    let o = match opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("cni-bench: {e}");
            std::process::exit(2);
        }
    };
    eprintln!(
        "cni-bench: {} pods, sequential and {} in parallel; cases: {}",
        o.pods,
        o.parallel,
        o.cases
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut results: Vec<Option<Figures>> = Vec::new();
    for case in &o.cases {
        eprintln!("cni-bench: {}…", case.name);
        match measure(&o, case) {
            Ok(f) => results.push(Some(f)),
            Err(e) => {
                eprintln!("cni-bench: {} failed: {e}", case.name);
                results.push(None);
            }
        }
    }
    report(&o, &results);
    if results.iter().any(Option::is_none) {
        std::process::exit(1);
    }
}

fn report(o: &Opts, results: &[Option<Figures>]) {
    let width = o
        .cases
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0)
        .max(10);
    println!();
    print!("{:<30}", "latency (ms)");
    for c in &o.cases {
        print!(" {:>width$}", c.name);
    }
    println!();
    type Pick = fn(&Figures) -> &Vec<Duration>;
    let rows: [(&str, Pick, f64); 8] = [
        ("sequential ADD p50", |f| &f.seq_add, 0.5),
        ("sequential ADD p99", |f| &f.seq_add, 0.99),
        ("sequential DEL p50", |f| &f.seq_del, 0.5),
        ("sequential DEL p99", |f| &f.seq_del, 0.99),
        ("parallel ADD p50", |f| &f.par_add, 0.5),
        ("parallel ADD p99", |f| &f.par_add, 0.99),
        ("parallel DEL p50", |f| &f.par_del, 0.5),
        ("parallel DEL p99", |f| &f.par_del, 0.99),
    ];
    let get = |i: usize, pick: Pick, q: f64| {
        results
            .get(i)
            .and_then(Option::as_ref)
            .and_then(|f| quantile_ms(pick(f), q))
    };
    for (label, pick, q) in rows {
        let label = label.replace("parallel", &format!("{} in parallel", o.parallel));
        print!("{label:<30}");
        for i in 0..o.cases.len() {
            let cell = get(i, pick, q).map_or("failed".into(), |v| format!("{v:.2}"));
            print!(" {cell:>width$}");
        }
        println!();
    }
    print!("{:<30}", "sequential ADD CPU/call");
    for i in 0..o.cases.len() {
        let cell = results
            .get(i)
            .and_then(Option::as_ref)
            .and_then(|f| f.cpu_per_add)
            .map_or("n/a".into(), |d| format!("{:.2}", d.as_secs_f64() * 1000.0));
        print!(" {cell:>width$}");
    }
    println!();
    let Some(reference) = o.cases.first() else {
        return;
    };
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let show = |r: Option<f64>| r.map_or("n/a".into(), |r| format!("{r:.2}x"));
    let seq_add: Pick = |f| &f.seq_add;
    let seq_del: Pick = |f| &f.seq_del;
    let par_add: Pick = |f| &f.par_add;
    println!();
    for (i, c) in o.cases.iter().enumerate().skip(1) {
        println!(
            "ratios, same run: {} / {}: ADD p50 {}, DEL p50 {}, {}-parallel ADD p99 {}",
            c.name,
            reference.name,
            show(ratio(get(i, seq_add, 0.5), get(0, seq_add, 0.5))),
            show(ratio(get(i, seq_del, 0.5), get(0, seq_del, 0.5))),
            o.parallel,
            show(ratio(get(i, par_add, 0.99), get(0, par_add, 0.99))),
        );
    }
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    println!();
    println!("{:<58} {:>10}  result", "target", "measured");
    for (i, c) in o.cases.iter().enumerate().skip(1) {
        if o.sqlite_cases.contains(&c.name) {
            let r = ratio(get(i, seq_add, 0.5), get(0, seq_add, 0.5));
            println!(
                "{:<58} {:>10}  {}",
                format!("{} ADD p50 <= 0.5x {}", c.name, reference.name),
                show(r),
                verdict(r.is_some_and(|r| r <= 0.5))
            );
            let p50 = get(i, seq_add, 0.5);
            println!(
                "{:<58} {:>10}  {}",
                format!("{} ADD p50 < 5 ms", c.name),
                p50.map_or("n/a".into(), |v| format!("{v:.2} ms")),
                verdict(p50.is_some_and(|v| v < 5.0))
            );
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (i, c) in o.cases.iter().enumerate().skip(1) {
        let p99 = get(i, par_add, 0.99);
        println!(
            "{:<58} {:>10}  {}",
            format!("{} ADD p99 < 20 ms, {} in parallel", c.name, o.parallel),
            p99.map_or("n/a".into(), |v| format!("{v:.2} ms")),
            verdict(p99.is_some_and(|v| v < 20.0))
        );
        if let Some(cpu) = results
            .get(i)
            .and_then(Option::as_ref)
            .and_then(|f| f.cpu_per_add)
        {
            let cpu_ms = cpu.as_secs_f64() * 1000.0;
            println!(
                "  (CPU bound on {cores} cores: {} calls at once × {cpu_ms:.2} ms CPU each / {cores} = {:.1} ms before the last can finish)",
                o.parallel,
                o.parallel as f64 * cpu_ms / cores as f64
            );
        }
    }
    if o.sqlite_cases.is_empty() {
        println!(
            "(no brindle-ipam on SQLite case in this run: its single-call targets are not judged)"
        );
    }
}
