//! A continuous ping from a pod, for zero-loss checks.

use super::agent::Pod;

/// A continuous ping (every 10 ms) from a pod, counted when stopped.
pub struct Ping(std::process::Child);

impl Ping {
    pub fn start(pod: &Pod, to: std::net::Ipv4Addr) -> Ping {
        Ping(
            std::process::Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &pod.ns,
                    "ping",
                    "-i",
                    "0.01",
                    "-W",
                    "1",
                    &to.to_string(),
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    /// Stops it; returns (sent, received).
    pub fn stop(self) -> (u64, u64) {
        let pid = self.0.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status();
        let out = self.0.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.contains("packets transmitted"))
            .unwrap_or_else(|| panic!("no ping summary in {text}"));
        let num = |word: &str| -> u64 {
            line.split(',')
                .find(|p| p.contains(word))
                .and_then(|p| p.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{word} in {line}"))
        };
        (num("transmitted"), num("received"))
    }
}
