//! CPU and memory of every process of the system under test, read from `/proc` once a
//! second (Linux only; elsewhere nothing is sampled).
//!
//! Which processes: those given with `--pid`, or else found from the base URL's port — the
//! process listening on it (the gateway) and, when its parent is `shop up`, every service
//! that runner started. The load generator itself is sampled too, to show what the load cost.

use std::{collections::HashSet, fs, time::Duration};

use serde::Serialize;

/// Kernel clock ticks per second in `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug, Clone, Serialize)]
pub struct ProcessUsage {
    pub name: String,
    pub pid: u32,
    pub avg_cpu_percent: f64,
    pub peak_cpu_percent: f64,
    /// Memory is the proportional set size (PSS): a page shared by several processes is split
    /// between them, so the processes' numbers add up — PostgreSQL's shared buffers count once,
    /// not once per backend as resident sizes would.
    pub avg_memory_mib: f64,
    pub peak_memory_mib: f64,
    /// One sample a second: (seconds since start, CPU %, memory MiB).
    pub samples: Vec<(u32, f64, f64)>,
}

/// What the system holds at the end of a run, from each process's last sample: the shop's own
/// processes, and the infrastructure it runs on (PostgreSQL and its backends, NATS, Redis).
/// The load generator is neither.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Footprint {
    pub application_mib: f64,
    pub infrastructure_mib: f64,
}

impl Footprint {
    pub fn of(processes: &[ProcessUsage]) -> Self {
        let mut footprint = Self {
            application_mib: 0.0,
            infrastructure_mib: 0.0,
        };
        for process in processes {
            let Some(&(_, _, memory)) = process.samples.last() else {
                continue;
            };
            if process.pid == std::process::id() {
                continue;
            }
            let infrastructure = ["postgres", "nats-server", "redis-server"]
                .iter()
                .any(|name| process.name.contains(name));
            if infrastructure {
                footprint.infrastructure_mib += memory;
            } else {
                footprint.application_mib += memory;
            }
        }
        footprint
    }
}

/// Reads the processes once a second.
pub struct Sampler {
    processes: Vec<Tracked>,
    seconds: u32,
}

struct Tracked {
    usage: ProcessUsage,
    last_ticks: Option<u64>,
}

impl Sampler {
    pub fn new(pids: &[u32]) -> Self {
        let processes = pids
            .iter()
            .map(|pid| Tracked {
                usage: ProcessUsage {
                    name: name(*pid),
                    pid: *pid,
                    avg_cpu_percent: 0.0,
                    peak_cpu_percent: 0.0,
                    avg_memory_mib: 0.0,
                    peak_memory_mib: 0.0,
                    samples: Vec::new(),
                },
                last_ticks: cpu_ticks(*pid),
            })
            .collect();
        Self { processes, seconds: 0 }
    }

    /// Takes a sample, `interval` after the previous one.
    pub fn sample(&mut self, interval: Duration) {
        self.seconds += 1;
        for process in &mut self.processes {
            let (Some(ticks), Some(memory)) = (cpu_ticks(process.usage.pid), memory_mib(process.usage.pid)) else {
                continue;
            };
            let used = ticks.saturating_sub(process.last_ticks.unwrap_or(ticks));
            process.last_ticks = Some(ticks);
            let cpu = used as f64 / TICKS_PER_SECOND / interval.as_secs_f64() * 100.0;
            process.usage.samples.push((self.seconds, cpu, memory));
        }
    }

    pub fn finish(self) -> Vec<ProcessUsage> {
        self.processes
            .into_iter()
            .map(|process| {
                let mut usage = process.usage;
                let n = usage.samples.len().max(1) as f64;
                usage.avg_cpu_percent = usage.samples.iter().map(|s| s.1).sum::<f64>() / n;
                usage.peak_cpu_percent = usage.samples.iter().map(|s| s.1).fold(0.0, f64::max);
                usage.avg_memory_mib = usage.samples.iter().map(|s| s.2).sum::<f64>() / n;
                usage.peak_memory_mib = usage.samples.iter().map(|s| s.2).fold(0.0, f64::max);
                usage
            })
            .collect()
    }
}

fn cmdline(pid: u32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|part| !part.is_empty())
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `shop serve user` → `user`; the load generator → `loadtest (generator)`; else the command.
fn name(pid: u32) -> String {
    let args = cmdline(pid);
    if pid == std::process::id() {
        return "loadtest (generator)".into();
    }
    match args.iter().position(|arg| arg == "serve") {
        Some(at) if at + 1 < args.len() => args[at + 1].clone(),
        _ => args
            .first()
            .and_then(|exe| exe.rsplit('/').next())
            .map_or_else(|| format!("pid {pid}"), str::to_owned),
    }
}

/// Fields after the command name in `/proc/<pid>/stat`; utime and stime are the 12th and 13th.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// PSS from `smaps_rollup`; the resident size where that cannot be read (another user's
/// process, an old kernel).
fn memory_mib(pid: u32) -> Option<f64> {
    let kib = |file: &str, field: &str| -> Option<f64> {
        fs::read_to_string(format!("/proc/{pid}/{file}"))
            .ok()?
            .lines()
            .find_map(|line| line.strip_prefix(field))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some(kib("smaps_rollup", "Pss:").or_else(|| kib("status", "VmRSS:"))? / 1024.0)
}

fn parent(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

fn all_pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The inodes of sockets listening on `port` (IPv4 or IPv6).
fn listening_inodes(port: u16) -> HashSet<u64> {
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is ADDR:PORT in hex; state 0A is LISTEN; field 9 is the inode.
            let listening = fields.get(3) == Some(&"0A");
            let on_port = fields
                .get(1)
                .and_then(|local| local.rsplit_once(':'))
                .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok())
                == Some(port);
            if listening
                && on_port
                && let Some(inode) = fields.get(9).and_then(|i| i.parse().ok())
            {
                inodes.insert(inode);
            }
        }
    }
    inodes
}

fn owns_socket(pid: u32, inodes: &HashSet<u64>) -> bool {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok).any(|fd| {
        fs::read_link(fd.path()).ok().is_some_and(|target| {
            target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:[")?.strip_suffix(']')?.parse::<u64>().ok())
                .is_some_and(|inode| inodes.contains(&inode))
        })
    })
}

/// The system's processes as seen from the port its gateway listens on (see the module
/// documentation); empty when none is found (another machine, another user).
pub fn discover(port: u16) -> Vec<u32> {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return Vec::new();
    }
    let pids = all_pids();
    let Some(gateway) = pids.iter().copied().find(|pid| owns_socket(*pid, &inodes)) else {
        return Vec::new();
    };
    let runner = parent(gateway).filter(|runner| cmdline(*runner).iter().any(|arg| arg == "up"));
    match runner {
        Some(runner) => {
            let mut family: Vec<u32> = pids.into_iter().filter(|pid| parent(*pid) == Some(runner)).collect();
            family.sort_unstable();
            family
        }
        None => vec![gateway],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_can_be_read() {
        let pid = std::process::id();
        assert!(memory_mib(pid).is_some_and(|memory| memory > 0.0));
        assert!(cpu_ticks(pid).is_some());
        assert_eq!(name(pid), "loadtest (generator)");
        let mut sampler = Sampler::new(&[pid]);
        sampler.sample(Duration::from_secs(1));
        let usage = sampler.finish();
        assert_eq!(usage[0].samples.len(), 1);
        assert!(usage[0].peak_memory_mib > 0.0);
    }

    #[test]
    fn the_footprint_splits_the_shop_from_its_infrastructure() {
        let process = |name: &str, pid: u32, memory: f64| ProcessUsage {
            name: name.into(),
            pid,
            avg_cpu_percent: 0.0,
            peak_cpu_percent: 0.0,
            avg_memory_mib: 0.0,
            peak_memory_mib: memory * 2.0,
            samples: vec![(1, 0.0, memory * 2.0), (2, 0.0, memory)],
        };
        let processes = [
            process("user", 1, 30.0),
            process("gateway", 2, 10.0),
            process("main: postgres st_user 127.0.0.1(40896) idle", 3, 4.0),
            process("nats-server", 4, 30.0),
            process("redis-server 127.0.0.1:6379", 5, 5.0),
            process("loadtest (generator)", std::process::id(), 100.0),
        ];
        assert_eq!(
            Footprint::of(&processes),
            Footprint {
                application_mib: 40.0,
                infrastructure_mib: 39.0
            },
            "the last samples, the generator left out"
        );
    }

    #[test]
    fn the_listener_of_a_port_is_found() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(discover(port), [std::process::id()]);
    }
}
