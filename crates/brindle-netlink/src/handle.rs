//! [`Netlink`]: the synchronous handle. Each call sends its request(s) and waits for the
//! kernel's answer; a batch of route changes travels in one datagram and each change gets its
//! own result.

use std::io;
use std::path::Path;

use crate::error::{Cause, Error};
use crate::route::{Route, RouteFilter};
use crate::route_msg::{self, RTM_NEWROUTE, Write};
use crate::socket::{RECV_BUFFER, Socket};
use crate::wire::{self, NLMSG_ERROR};

/// Route changes sent to the kernel in one datagram at most (their answers, even errors that
/// quote the request, stay far below the socket's receive queue).
const BATCH: usize = 64;

/// One change to the routing table, for [`Netlink::apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteOp {
    /// Add the route; fails with `File exists` when the destination already has one in the
    /// table (`ip route add`).
    Add(Route),
    /// Add the route or replace the one to the same destination (`ip route replace`).
    Replace(Route),
    /// Delete the route to the same destination, table and protocol (and metric, when set),
    /// whatever its next hops (`ip route del`).
    Delete(Route),
}

impl RouteOp {
    /// The route it changes.
    pub fn route(&self) -> &Route {
        match self {
            RouteOp::Add(r) | RouteOp::Replace(r) | RouteOp::Delete(r) => r,
        }
    }

    /// What it does, as error messages begin: `adding route 10.1.0.0/24 via 10.0.0.2`.
    pub fn describe(&self) -> String {
        match self {
            RouteOp::Add(r) => format!("adding route {r}"),
            RouteOp::Replace(r) => format!("replacing route {r}"),
            RouteOp::Delete(r) => format!("deleting route {r}"),
        }
    }

    fn encode(&self, seq: u32) -> Vec<u8> {
        match self {
            RouteOp::Add(r) => route_msg::new_route(r, Write::Add, seq),
            RouteOp::Replace(r) => route_msg::new_route(r, Write::Replace, seq),
            RouteOp::Delete(r) => route_msg::del_route(r, seq),
        }
    }

    /// Why it cannot be sent as it is, if it cannot (a delete needs no next hop).
    fn problem(&self) -> Option<String> {
        match self {
            RouteOp::Delete(_) => None,
            RouteOp::Add(r) | RouteOp::Replace(r) => r.problem(),
        }
    }
}

/// A `NETLINK_ROUTE` socket in one network namespace, used synchronously: no async runtime,
/// no background thread. Not shared between threads; open one per thread that needs one.
pub struct Netlink {
    pub(crate) socket: Socket,
    seq: u32,
    pub(crate) buf: Vec<u8>,
}

/// The socket error, with a timeout said in words.
pub(crate) fn io_cause(e: io::Error) -> Cause {
    if e.kind() == io::ErrorKind::WouldBlock {
        return Cause::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            "no answer from the kernel in time",
        ));
    }
    Cause::Io(e)
}

/// A copy of a socket error, for each of several results.
fn copy_io(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(n) => io::Error::from_raw_os_error(n),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

impl Netlink {
    fn with(socket: Socket) -> Netlink {
        // Start sequence numbers from the clock, so that answers meant for an earlier socket of
        // the same port are never taken for ours.
        let seq = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos() | 1);
        Netlink {
            socket,
            seq,
            buf: vec![0; RECV_BUFFER],
        }
    }

    /// Opens a handle on the calling thread's network namespace.
    pub fn open() -> Result<Netlink, Error> {
        Socket::open()
            .map(Netlink::with)
            .map_err(|e| Error::new("opening a netlink socket", io_cause(e)))
    }

    /// Opens a handle on the network namespace at `netns` (`/run/netns/NAME`,
    /// `/proc/PID/ns/net`): everything done through it happens in that namespace, while the
    /// calling thread stays in its own.
    pub fn open_in(netns: &Path) -> Result<Netlink, Error> {
        Socket::open_in(netns).map(Netlink::with).map_err(|e| {
            let doing = format!("opening a netlink socket in {}", netns.display());
            Error::new(doing, io_cause(e))
        })
    }

    pub(crate) fn next_seq(&mut self, n: usize) -> u32 {
        let first = self.seq;
        self.seq = self.seq.wrapping_add(u32::try_from(n).unwrap_or(u32::MAX));
        first
    }

    /// Adds a route (fails with `File exists` if the destination has one in the table).
    pub fn add_route(&mut self, route: &Route) -> Result<(), Error> {
        self.one(RouteOp::Add(route.clone()))
    }

    /// Adds a route or replaces the one to the same destination in the table.
    pub fn replace_route(&mut self, route: &Route) -> Result<(), Error> {
        self.one(RouteOp::Replace(route.clone()))
    }

    /// Deletes the route to `route.dst` in its table with its protocol (its next hops are not
    /// compared). Returns whether there was one.
    pub fn delete_route(&mut self, route: &Route) -> Result<bool, Error> {
        match self.one(RouteOp::Delete(route.clone())) {
            Ok(()) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn one(&mut self, op: RouteOp) -> Result<(), Error> {
        let mut r = self.apply(std::slice::from_ref(&op));
        r.pop().unwrap_or_else(|| {
            Err(Error::new(
                op.describe(),
                Cause::Invalid("no result".into()),
            ))
        })
    }

    /// Applies route changes in order, batched into few datagrams; returns one result per
    /// change. A change that fails does not stop the others.
    pub fn apply(&mut self, ops: &[RouteOp]) -> Vec<Result<(), Error>> {
        let mut results = Vec::with_capacity(ops.len());
        for chunk in ops.chunks(BATCH) {
            let causes = self.apply_batch(chunk);
            results.extend(chunk.iter().zip(causes).map(|(op, c)| match c {
                None => Ok(()),
                Some(cause) => Err(Error::new(op.describe(), cause)),
            }));
        }
        results
    }

    /// Sends `ops` in one datagram and collects their acknowledgements: `None` for success.
    fn apply_batch(&mut self, ops: &[RouteOp]) -> Vec<Option<Cause>> {
        let first = self.next_seq(ops.len());
        let mut outcome: Vec<Option<Option<Cause>>> =
            std::iter::repeat_with(|| None).take(ops.len()).collect();
        let mut datagram = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            match op.problem() {
                Some(p) => outcome[i] = Some(Some(Cause::Invalid(p))),
                None => datagram.extend(op.encode(first.wrapping_add(i as u32))),
            }
        }
        let mut pending = outcome.iter().filter(|o| o.is_none()).count();
        let mut failure = None;
        if pending > 0
            && let Err(e) = self.socket.send(&datagram)
        {
            failure = Some(e);
        }
        while pending > 0 && failure.is_none() {
            let len = match self.socket.recv(&mut self.buf) {
                Ok(len) => len,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            for m in wire::messages(&self.buf[..len]) {
                let Ok(m) = m else { break };
                let i = m.seq.wrapping_sub(first) as usize;
                if m.kind != NLMSG_ERROR || i >= ops.len() || outcome[i].is_some() {
                    continue;
                }
                outcome[i] = Some(match wire::error_code(m.payload) {
                    Ok(0) => None,
                    Ok(code) => Some(Cause::Kernel(code.saturating_neg())),
                    Err(e) => Some(Cause::Malformed(e.0)),
                });
                pending -= 1;
            }
        }
        outcome
            .into_iter()
            .map(|o| match (o, &failure) {
                (Some(c), _) => c,
                (None, Some(e)) => Some(io_cause(copy_io(e))),
                (None, None) => Some(Cause::Malformed("no acknowledgement".into())),
            })
            .collect()
    }

    /// The routes that pass `filter`, from a dump of the kernel's tables.
    pub fn routes(&mut self, filter: &RouteFilter) -> Result<Vec<Route>, Error> {
        self.dump(
            "dumping routes",
            |seq| route_msg::dump_routes(filter.ipv4, seq),
            RTM_NEWROUTE,
            |payload| Ok(route_msg::parse_route(payload)?.filter(|r| filter.matches(r))),
        )
    }

    /// The index of the interface called `name` in this handle's namespace.
    pub fn link_index(&mut self, name: &str) -> Result<u32, Error> {
        self.link_by_name(name)?.map(|l| l.index).ok_or_else(|| {
            Error::new(
                format!("looking up interface {name}"),
                Cause::Kernel(crate::error::ENODEV),
            )
        })
    }
}
