//! [`Netlink`]'s interface and address operations, and the request patterns they share: a
//! request acknowledged, a request answered by one object, a dump.

use std::fs::File;
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::AsRawFd;

use crate::addr::{Address, SCOPE_LINK};
use crate::addr_msg::{self, RTM_NEWADDR};
use crate::error::{Cause, Error};
use crate::handle::{Netlink, io_cause};
use crate::link::{Link, LinkChange, Veth};
use crate::link_msg::{self, RTM_NEWLINK};
use crate::wire::{self, Malformed, NLM_F_DUMP_INTR, NLMSG_DONE, NLMSG_ERROR};

/// Dumps interrupted by a concurrent change are retried this often.
const DUMP_ATTEMPTS: usize = 3;

impl Netlink {
    /// Sends one request and waits for its acknowledgement.
    fn request_ack(&mut self, doing: &dyn Fn() -> String, msg: Vec<u8>) -> Result<(), Error> {
        self.request_one(doing, msg, None, |_| Ok(()))
            .and_then(|o| {
                o.ok_or_else(|| Error::new(doing(), Cause::Malformed("no answer".into())))
            })
    }

    /// Sends one request; returns the first message of type `kind` parsed, or `Some(())`-like
    /// success on a plain acknowledgement when `kind` is `None`.
    fn request_one<T>(
        &mut self,
        doing: &dyn Fn() -> String,
        msg: Vec<u8>,
        kind: Option<u16>,
        parse: impl Fn(&[u8]) -> Result<T, Malformed>,
    ) -> Result<Option<T>, Error> {
        let fail = |c| Error::new(doing(), c);
        let seq = wire::u32_at(&msg, 8).unwrap_or(0);
        self.socket.send(&msg).map_err(|e| fail(io_cause(e)))?;
        loop {
            let len = self
                .socket
                .recv(&mut self.buf)
                .map_err(|e| fail(io_cause(e)))?;
            for m in wire::messages(&self.buf[..len]) {
                let m = m.map_err(|e| fail(Cause::Malformed(e.0)))?;
                if m.seq != seq {
                    continue;
                }
                if Some(m.kind) == kind {
                    return parse(m.payload)
                        .map(Some)
                        .map_err(|e| fail(Cause::Malformed(e.0)));
                }
                if m.kind == NLMSG_ERROR {
                    return match wire::error_code(m.payload) {
                        Ok(0) if kind.is_none() => parse(&[])
                            .map(Some)
                            .map_err(|e| fail(Cause::Malformed(e.0))),
                        Ok(0) => Ok(None),
                        Ok(code) => Err(fail(Cause::Kernel(code.saturating_neg()))),
                        Err(e) => Err(fail(Cause::Malformed(e.0))),
                    };
                }
            }
        }
    }

    /// Sends a dump request (built by `build` from a sequence number) and collects the
    /// messages of type `kind` that `parse` keeps; retried when a change interrupts it.
    pub(crate) fn dump<T>(
        &mut self,
        doing: &str,
        build: impl Fn(u32) -> Vec<u8>,
        kind: u16,
        parse: impl Fn(&[u8]) -> Result<Option<T>, Malformed>,
    ) -> Result<Vec<T>, Error> {
        let fail = |c| Error::new(doing, c);
        'attempt: for _ in 0..DUMP_ATTEMPTS {
            let seq = self.next_seq(1);
            self.socket
                .send(&build(seq))
                .map_err(|e| fail(io_cause(e)))?;
            let mut out = Vec::new();
            let mut interrupted = false;
            loop {
                let len = self
                    .socket
                    .recv(&mut self.buf)
                    .map_err(|e| fail(io_cause(e)))?;
                for m in wire::messages(&self.buf[..len]) {
                    let m = m.map_err(|e| fail(Cause::Malformed(e.0)))?;
                    if m.seq != seq {
                        continue;
                    }
                    interrupted |= m.flags & NLM_F_DUMP_INTR != 0;
                    match m.kind {
                        NLMSG_DONE if interrupted => continue 'attempt,
                        NLMSG_DONE => return Ok(out),
                        NLMSG_ERROR => match wire::error_code(m.payload) {
                            Ok(0) => {}
                            Ok(code) => return Err(fail(Cause::Kernel(code.saturating_neg()))),
                            Err(e) => return Err(fail(Cause::Malformed(e.0))),
                        },
                        k if k == kind => {
                            if let Some(t) =
                                parse(m.payload).map_err(|e| fail(Cause::Malformed(e.0)))?
                            {
                                out.push(t);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        Err(fail(Cause::Invalid(format!(
            "the kernel's state changed during each of {DUMP_ATTEMPTS} attempts"
        ))))
    }

    /// The interface called `name`, or `None` when there is none.
    pub fn link_by_name(&mut self, name: &str) -> Result<Option<Link>, Error> {
        let doing = || format!("looking up interface {name}");
        if let Some(p) = link_msg::name_problem(name) {
            return Err(Error::new(doing(), Cause::Invalid(p)));
        }
        let seq = self.next_seq(1);
        let msg = link_msg::get_link(name, seq);
        not_found_is_none(self.request_one(&doing, msg, Some(RTM_NEWLINK), link_msg::parse_link))
    }

    /// The interface numbered `index`, or `None` when there is none.
    pub fn link_by_index(&mut self, index: u32) -> Result<Option<Link>, Error> {
        let doing = || format!("looking up interface #{index}");
        let seq = self.next_seq(1);
        let msg = link_msg::get_link_by_index(index, seq);
        not_found_is_none(self.request_one(&doing, msg, Some(RTM_NEWLINK), link_msg::parse_link))
    }

    /// Every interface of the namespace.
    pub fn links(&mut self) -> Result<Vec<Link>, Error> {
        self.dump(
            "dumping interfaces",
            link_msg::dump_links,
            RTM_NEWLINK,
            |p| link_msg::parse_link(p).map(Some),
        )
    }

    /// Creates a veth pair; its peer directly in `veth.peer_netns` when set. Both ends stay
    /// down. Returns this end's index.
    pub fn create_veth(&mut self, veth: &Veth) -> Result<u32, Error> {
        let doing = || format!("creating veth {} (peer {})", veth.name, veth.peer_name);
        for name in [&veth.name, &veth.peer_name] {
            if let Some(p) = link_msg::name_problem(name) {
                return Err(Error::new(doing(), Cause::Invalid(p)));
            }
        }
        // The namespace file stays open until the kernel has answered.
        let ns = match &veth.peer_netns {
            Some(path) => Some(File::open(path).map_err(|e| {
                Error::new(
                    format!("{}: opening network namespace {}", doing(), path.display()),
                    Cause::Io(e),
                )
            })?),
            None => None,
        };
        let fd = ns
            .as_ref()
            .map(|f| u32::try_from(f.as_raw_fd()).unwrap_or(u32::MAX));
        let seq = self.next_seq(1);
        self.request_ack(&doing, link_msg::new_veth(veth, fd, seq))?;
        drop(ns);
        self.link_index(&veth.name)
    }

    /// Applies `change` to the interface `index`.
    pub fn set_link(&mut self, index: u32, change: &LinkChange) -> Result<(), Error> {
        let doing = || {
            let mut what = Vec::new();
            match change.up {
                Some(true) => what.push("up".to_string()),
                Some(false) => what.push("down".to_string()),
                None => {}
            }
            if let Some(m) = change.mac {
                what.push(format!("address {m}"));
            }
            if let Some(m) = change.mtu {
                what.push(format!("mtu {m}"));
            }
            format!("setting interface #{index} {}", what.join(" "))
        };
        let seq = self.next_seq(1);
        self.request_ack(&doing, link_msg::set_link(index, change, seq))
    }

    /// Brings the interface `index` up (`true`) or down.
    pub fn set_up(&mut self, index: u32, up: bool) -> Result<(), Error> {
        self.set_link(index, &LinkChange::up(up))
    }

    /// Deletes the interface `index` (a veth takes its peer with it). Returns whether there
    /// was one.
    pub fn delete_link(&mut self, index: u32) -> Result<bool, Error> {
        let doing = || format!("deleting interface #{index}");
        let seq = self.next_seq(1);
        match self.request_ack(&doing, link_msg::del_link(index, seq)) {
            Ok(()) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes the interface called `name`. Returns whether there was one.
    pub fn delete_link_by_name(&mut self, name: &str) -> Result<bool, Error> {
        match self.link_by_name(name)? {
            Some(l) => self.delete_link(l.index),
            None => Ok(false),
        }
    }

    /// Adds an address (fails with `File exists` when the interface has it already).
    pub fn add_address(&mut self, a: &Address) -> Result<(), Error> {
        let doing = || format!("adding address {a}");
        if let Some(p) = a.problem() {
            return Err(Error::new(doing(), Cause::Invalid(p)));
        }
        let seq = self.next_seq(1);
        self.request_ack(&doing, addr_msg::new_addr(a, seq))
    }

    /// Deletes an address (matched by interface, address and prefix length). Returns whether
    /// there was one.
    pub fn delete_address(&mut self, a: &Address) -> Result<bool, Error> {
        let doing = || format!("deleting address {a}");
        let seq = self.next_seq(1);
        match self.request_ack(&doing, addr_msg::del_addr(a, seq)) {
            Ok(()) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The addresses of the namespace (of one interface when `ifindex` is given), both
    /// families.
    pub fn addresses(&mut self, ifindex: Option<u32>) -> Result<Vec<Address>, Error> {
        let all = self.dump(
            "dumping addresses",
            addr_msg::dump_addrs,
            RTM_NEWADDR,
            addr_msg::parse_addr,
        )?;
        Ok(all
            .into_iter()
            .filter(|a| ifindex.is_none_or(|i| i == a.ifindex))
            .collect())
    }

    /// The interface's usable (not tentative) IPv6 link-local address, if it has one yet.
    pub fn ipv6_link_local(&mut self, ifindex: u32) -> Result<Option<Ipv6Addr>, Error> {
        Ok(self
            .addresses(Some(ifindex))?
            .into_iter()
            .filter(|a| a.scope == SCOPE_LINK && a.is_usable())
            .find_map(|a| match a.addr {
                IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(v6),
                _ => None,
            }))
    }
}

/// `Ok(None)` for "not there" (`ENODEV`), other errors unchanged.
fn not_found_is_none<T>(r: Result<Option<T>, Error>) -> Result<Option<T>, Error> {
    match r {
        Err(e) if e.is_not_found() => Ok(None),
        other => other,
    }
}
