//! Command-line syntax.

use std::path::PathBuf;

use brindle_lab::cluster::{DatastoreKind, RouterKind};
use clap::{Args, Parser, Subcommand};

/// Virtual BGP-routed brindle clusters (hosts and pods in network namespaces) on this machine.
#[derive(Parser, Debug)]
#[command(name = "brindle-lab", version)]
pub struct Cli {
    /// Which lab (every namespace is named `<name>-…`): 1 to 8 lowercase letters or digits.
    #[arg(
        long,
        global = true,
        env = "BRINDLE_LAB_NAME",
        default_value = "brindle"
    )]
    pub name: String,
    /// Where the lab keeps its state, datastore and logs [default: /run/brindle-lab/<name>].
    #[arg(long, global = true, env = "BRINDLE_LAB_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Where brindle-node, brindle (CNI) and brindlectl are [default: next to brindle-lab].
    #[arg(long, global = true, env = "BRINDLE_BIN_DIR", value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build the cluster: nodes with agents, datastore, router, pods; wait for BGP.
    Up(UpArgs),
    /// Nodes, agents, pods, and each agent's BGP sessions.
    Status,
    /// Run a command inside a node's namespace: `exec node1 -- ip route`.
    Exec {
        /// The node (or `router`).
        node: String,
        /// The command and its arguments.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            required = true,
            value_name = "CMD"
        )]
        command: Vec<String>,
    },
    /// Add or delete a pod.
    Pod {
        /// add or del.
        #[command(subcommand)]
        what: PodCommand,
    },
    /// Ping matrix: every pod to every pod and to the router's VIP.
    Check,
    /// Stop everything and remove the lab (idempotent).
    Down,
    /// Up 3 nodes x 2 pods with a BIRD router, show status, routes and the check, then down.
    Demo,
}

/// `up` options.
#[derive(Args, Debug)]
pub struct UpArgs {
    /// Number of nodes (node1..nodeN).
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Pods added to every node (pod1..podM).
    #[arg(long, default_value_t = 2)]
    pub pods_per_node: usize,
    /// sqlite or etcd.
    #[arg(long, default_value = "sqlite")]
    pub datastore: DatastoreKind,
    /// An external BGP router peering with every node: bird, frr or gobgp.
    #[arg(long, value_name = "DAEMON")]
    pub external_router: Option<RouterKind>,
}

/// `pod …`.
#[derive(Subcommand, Debug)]
pub enum PodCommand {
    /// Create a pod on a node (CNI ADD).
    Add {
        /// The node.
        node: String,
        /// The pod's name.
        #[arg(value_name = "NAME")]
        pod: String,
    },
    /// Delete a pod (CNI DEL).
    Del {
        /// The node.
        node: String,
        /// The pod's name.
        #[arg(value_name = "NAME")]
        pod: String,
    },
}
