//! Running a plan: spawn the users (closed model) or the connections that follow the
//! timeline (open model), wait for them, merge what they recorded into a report.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::conn::Client;
use crate::record::Recorder;
use crate::report::{OpenStats, Report};
use crate::schedule::{self, GROW_AFTER, LATE_AFTER, Schedule, Start};
use crate::target::{BaseUrl, Picker, RequestKind};
use crate::{Load, LoadError, Plan, Progress};

/// What every task of a run reads; written only through atomics.
struct Ctx {
    kinds: Vec<RequestKind>,
    picker: Picker,
    addr: SocketAddr,
    timeout: Duration,
    seed: u64,
    start: Instant,
    deadline: Option<Instant>,
    /// Request budget (`-n`); `None` for a run bounded by time only.
    limit: Option<u64>,
    /// Closed model: requests claimed against the budget. Open model: the next slot.
    tickets: AtomicU64,
    progress: Arc<Progress>,
    /// Open model: connections started or reserved, and how to ask for one more.
    connections: AtomicU32,
    max_connections: u32,
    grow: mpsc::UnboundedSender<u32>,
}

impl Ctx {
    fn past_deadline(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|d| now >= d)
    }

    /// Takes one request from the budget; false once it is spent.
    fn claim(&self) -> bool {
        match self.limit {
            None => true,
            Some(limit) => self.tickets.fetch_add(1, Ordering::Relaxed) < limit,
        }
    }

    fn rng(&self, index: u32) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.seed ^ u64::from(index).wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    /// Open model: asks the coordinator for one more connection, unless at the cap.
    fn grow(&self) {
        let mut n = self.connections.load(Ordering::Relaxed);
        while n < self.max_connections {
            match self.connections.compare_exchange_weak(
                n,
                n + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    let _ = self.grow.send(n);
                    return;
                }
                Err(now) => n = now,
            }
        }
    }
}

fn check(plan: &Plan) -> Result<(), LoadError> {
    let refuse = |reason: &str| Err(LoadError::Plan(reason.to_owned()));
    if plan.stop.duration.is_none() && plan.stop.requests.is_none() {
        return refuse("a run needs a duration or a request count to stop");
    }
    if plan.stop.duration.is_some_and(|d| d.is_zero()) || plan.stop.requests == Some(0) {
        return refuse("the duration and the request count must be above zero");
    }
    if plan.timeout.is_zero() {
        return refuse("the timeout must be above zero");
    }
    if plan.target.kinds.is_empty() {
        return refuse("no requests to send");
    }
    match plan.load {
        Load::Closed { users: 0, .. } => refuse("at least one user is needed"),
        Load::Open {
            max_connections: 0, ..
        } => refuse("at least one connection is needed"),
        Load::Open { rate, .. } if Schedule::new(rate).is_none() => {
            refuse("the rate must be a positive number of requests per second")
        }
        _ => Ok(()),
    }
}

async fn resolve(base: &BaseUrl) -> Result<SocketAddr, LoadError> {
    let failed = |source| LoadError::Resolve {
        host: base.host.clone(),
        source,
    };
    let mut addrs = tokio::net::lookup_host((base.host.as_str(), base.port))
        .await
        .map_err(failed)?;
    addrs.next().ok_or_else(|| {
        failed(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no address found",
        ))
    })
}

/// Runs `plan` to its end and reports. Unreachable servers and failed requests are figures
/// of the report; only a plan that cannot start (bad settings, an unknown host) is an error.
pub async fn run(plan: &Plan, progress: Arc<Progress>) -> Result<Report, LoadError> {
    check(plan)?;
    let addr = resolve(&plan.target.base).await?;
    let (grow, mut grow_requests) = mpsc::unbounded_channel();
    let started_at = Utc::now();
    let start = Instant::now();
    let max_connections = match plan.load {
        Load::Closed { users, .. } => users,
        Load::Open {
            max_connections, ..
        } => max_connections,
    };
    let ctx = Arc::new(Ctx {
        kinds: plan.target.kinds.clone(),
        picker: Picker::new(&plan.target.kinds),
        addr,
        timeout: plan.timeout,
        seed: plan.seed,
        start,
        deadline: plan.stop.duration.map(|d| start + d),
        limit: plan.stop.requests,
        tickets: AtomicU64::new(0),
        progress,
        connections: AtomicU32::new(0),
        max_connections,
        grow,
    });

    let mut tasks = JoinSet::new();
    let schedule = match plan.load {
        Load::Closed {
            users,
            think,
            ramp_up,
        } => {
            ctx.connections.store(users, Ordering::Relaxed);
            for index in 0..users {
                let begin = start + ramp_up * index / users;
                tasks.spawn(user(ctx.clone(), index, begin, think));
            }
            None
        }
        Load::Open { rate, .. } => {
            let schedule = Schedule::new(rate).expect("checked above");
            ctx.connections.store(1, Ordering::Relaxed);
            tasks.spawn(open_connection(ctx.clone(), 0, schedule));
            Some(schedule)
        }
    };

    let mut merged = Recorder::new(ctx.kinds.len());
    loop {
        tokio::select! {
            Some(index) = grow_requests.recv() => {
                let schedule = schedule.expect("only the open model grows");
                tasks.spawn(open_connection(ctx.clone(), index, schedule));
            }
            joined = tasks.join_next() => match joined {
                Some(Ok(recorder)) => merged.merge(&recorder),
                Some(Err(err)) => return Err(LoadError::Task(err)),
                None => match grow_requests.try_recv() {
                    // A connection asked for help just before it finished; the new one
                    // finds the run over and ends at once.
                    Ok(index) => {
                        let schedule = schedule.expect("only the open model grows");
                        tasks.spawn(open_connection(ctx.clone(), index, schedule));
                    }
                    Err(_) => break,
                },
            },
        }
    }
    let elapsed = start.elapsed();

    let open = schedule.map(|schedule| {
        let mut scheduled = u64::MAX;
        if let Some(d) = plan.stop.duration {
            scheduled = schedule.slots_within(d);
        }
        if let Some(n) = plan.stop.requests {
            scheduled = scheduled.min(n);
        }
        let sent = merged.overall.requests();
        OpenStats {
            scheduled,
            sent,
            late: merged.late,
            dropped: scheduled.saturating_sub(sent),
            connections: ctx.connections.load(Ordering::Relaxed),
            late_after_ms: LATE_AFTER.as_millis() as u64,
        }
    });
    Ok(Report::build(plan, started_at, elapsed, &merged, open))
}

/// One virtual user: one connection, the next request as soon as the last is answered
/// (after the think time).
async fn user(ctx: Arc<Ctx>, index: u32, begin: Instant, think: Duration) -> Recorder {
    let mut recorder = Recorder::new(ctx.kinds.len());
    let mut rng = ctx.rng(index);
    if begin > Instant::now() {
        tokio::time::sleep_until(begin.into()).await;
    }
    let mut client = Client::new(ctx.addr, ctx.timeout);
    loop {
        let began = Instant::now();
        if ctx.past_deadline(began) || !ctx.claim() {
            break;
        }
        let kind = ctx.picker.pick(&mut rng);
        let outcome = client.send(&ctx.kinds[kind], began).await;
        let done = Instant::now();
        recorder.record(kind, outcome, (done - began).as_micros() as u64);
        ctx.progress.add(outcome.is_err());
        if !think.is_zero() {
            let wake = done + think;
            match ctx.deadline {
                Some(deadline) if wake >= deadline => break,
                _ => tokio::time::sleep_until(wake.into()).await,
            }
        }
    }
    recorder
}

/// One connection of the open model: takes the next slot of the timeline, waits for it if
/// early, sends, and records latency from the slot's time.
async fn open_connection(ctx: Arc<Ctx>, index: u32, schedule: Schedule) -> Recorder {
    let mut recorder = Recorder::new(ctx.kinds.len());
    let mut rng = ctx.rng(index);
    let mut client = Client::new(ctx.addr, ctx.timeout);
    loop {
        let slot = ctx.tickets.fetch_add(1, Ordering::Relaxed);
        if ctx.limit.is_some_and(|limit| slot >= limit) {
            break;
        }
        let intended = ctx.start + schedule.offset(slot);
        if ctx.past_deadline(intended) {
            break;
        }
        let now = Instant::now();
        match schedule::start(intended, now) {
            Start::Wait(_) => tokio::time::sleep_until(intended.into()).await,
            Start::Behind(behind) => {
                // Due during the run but the run is over: this one is dropped.
                if ctx.past_deadline(now) {
                    break;
                }
                if behind >= GROW_AFTER {
                    ctx.grow();
                }
                if behind >= LATE_AFTER {
                    recorder.late += 1;
                }
            }
        }
        let kind = ctx.picker.pick(&mut rng);
        let outcome = client.send(&ctx.kinds[kind], Instant::now()).await;
        let done = Instant::now();
        recorder.record(
            kind,
            outcome,
            schedule::corrected_latency_us(intended, done),
        );
        ctx.progress.add(outcome.is_err());
    }
    recorder
}
