//! Command-line syntax.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Manage brindle resources (calicoctl-compatible).
#[derive(Parser, Debug)]
#[command(name = "brindlectl", version, about, disable_version_flag = true)]
pub struct Cli {
    /// Datastore settings.
    #[command(flatten)]
    pub datastore: DatastoreFlags,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Datastore selection flags (override the config file and the environment).
#[derive(Args, Debug, Default)]
pub struct DatastoreFlags {
    /// Config file (default /etc/brindle/brindlectl.cfg).
    #[arg(short = 'c', long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// sqlite or etcdv3.
    #[arg(long, global = true, value_name = "TYPE")]
    pub datastore_type: Option<String>,
    /// SQLite database file.
    #[arg(long, global = true, value_name = "FILE")]
    pub datastore_path: Option<String>,
    /// Comma-separated etcd endpoints.
    #[arg(long, global = true, value_name = "URLS")]
    pub etcd_endpoints: Option<String>,
    /// CA certificate of the etcd servers.
    #[arg(long, global = true, value_name = "FILE")]
    pub etcd_ca_cert_file: Option<String>,
    /// Client certificate for etcd.
    #[arg(long, global = true, value_name = "FILE")]
    pub etcd_cert_file: Option<String>,
    /// Client key for etcd.
    #[arg(long, global = true, value_name = "FILE")]
    pub etcd_key_file: Option<String>,
    /// etcd user name.
    #[arg(long, global = true)]
    pub etcd_username: Option<String>,
    /// etcd password.
    #[arg(long, global = true)]
    pub etcd_password: Option<String>,
}

/// Output formats of `get`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// A table of the main columns.
    Ps,
    /// A table with more columns.
    Wide,
    /// Manifests as YAML.
    Yaml,
    /// Manifests as JSON.
    Json,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show resources: `get KIND [NAME...]`.
    Get {
        /// Kind, e.g. nodes, bgpPeer, ippool, bgpconfig.
        kind: String,
        /// Names (all resources of the kind when none).
        names: Vec<String>,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "ps")]
        output: Output,
        /// Namespace (namespaced kinds).
        #[arg(short, long)]
        namespace: Option<String>,
        /// All namespaces (namespaced kinds).
        #[arg(short = 'A', long)]
        all_namespaces: bool,
    },
    /// Create resources from a file; fails if any exists.
    Create(FileArgs),
    /// Create or replace resources from a file.
    Apply(FileArgs),
    /// Replace existing resources from a file.
    Replace(FileArgs),
    /// Delete `KIND NAME`, or the resources in a file.
    Delete {
        /// Kind (with NAME).
        kind: Option<String>,
        /// Names.
        names: Vec<String>,
        /// File (or - for stdin) listing the resources to delete.
        #[arg(short, long, value_name = "FILE", conflicts_with = "kind")]
        filename: Option<String>,
        /// Namespace (namespaced kinds).
        #[arg(short, long)]
        namespace: Option<String>,
    },
    /// Apply a JSON merge patch (RFC 7386) to one resource.
    Patch {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// The patch, e.g. '{"spec":{"asNumber":64513}}'.
        #[arg(short, long)]
        patch: String,
        /// Namespace (namespaced kinds).
        #[arg(short, long)]
        namespace: Option<String>,
    },
    /// Set (`k=v`) or remove (`k --remove`) a label.
    Label {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// `key=value`, or `key` with --remove.
        label: String,
        /// Replace an existing value.
        #[arg(long)]
        overwrite: bool,
        /// Remove the label.
        #[arg(long)]
        remove: bool,
        /// Namespace (namespaced kinds).
        #[arg(short, long)]
        namespace: Option<String>,
    },
    /// Print the version.
    Version,
    /// Ask a running BGP speaker (`brindle-node bgp`) about its peers and routes.
    Bgp {
        /// The speaker's control socket.
        #[arg(
            long,
            global = true,
            default_value = "/run/brindle/bgp.sock",
            value_name = "PATH"
        )]
        socket: PathBuf,
        /// What to show.
        #[command(subcommand)]
        what: BgpCommand,
    },
    /// Ask the agent on this host (brindle-node) about itself.
    Node {
        /// What to show.
        #[command(subcommand)]
        what: NodeCommand,
    },
    /// IP address management: usage, consistency check, release.
    Ipam {
        /// What to do.
        #[command(subcommand)]
        what: IpamCommand,
    },
}

/// `brindlectl ipam …`.
#[derive(Subcommand, Debug)]
pub enum IpamCommand {
    /// Addresses per IP pool (GROUPING, CIDR, IPS TOTAL, IPS IN USE, IPS FREE), or one address.
    Show {
        /// Add a row per block.
        #[arg(long)]
        show_blocks: bool,
        /// List the addresses borrowed from other nodes' blocks instead.
        #[arg(long, conflicts_with = "show_blocks")]
        show_borrowed: bool,
        /// Say whether this address is in use, and by what.
        #[arg(long, value_name = "ADDR", conflicts_with_all = ["show_blocks", "show_borrowed"])]
        ip: Option<String>,
    },
    /// Look for leaked allocations, inconsistent handles, blocks of deleted nodes and
    /// unfinished block claims. Exits 0 and prints a summary, like calicoctl.
    Check {
        /// Also write the findings as a JSON report (input of `release --from-report`).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Release one address, or everything a check report lists.
    #[command(group(clap::ArgGroup::new("what").args(["ip", "from_report"])))]
    Release {
        /// The address to release (whoever holds it).
        #[arg(long, value_name = "ADDR")]
        ip: Option<String>,
        /// A report written by `ipam check -o FILE`.
        #[arg(long, value_name = "FILE")]
        from_report: Option<PathBuf>,
    },
}

/// `brindlectl node …`.
#[derive(Subcommand, Debug)]
pub enum NodeCommand {
    /// Is brindle-node running, and how are its BGP sessions (like `calicoctl node status`)?
    /// Exits 1 when the agent does not answer.
    Status {
        /// After the tables, explain every session that is not Established and what to check.
        #[arg(long)]
        detail: bool,
        /// The agent's run directory, which holds its control socket `node.sock`.
        #[arg(
            long,
            env = "BRINDLE_RUN_DIR",
            default_value = "/var/run/brindle",
            value_name = "DIR"
        )]
        run_dir: PathBuf,
        /// The agent's control socket itself (instead of `<run-dir>/node.sock`).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
    },
}

/// `brindlectl bgp …`.
#[derive(Subcommand, Debug)]
pub enum BgpCommand {
    /// PEER ADDRESS, AS, STATE, SINCE, INFO of every peer.
    Peers,
    /// The speaker's table, or the paths of one prefix.
    Routes {
        /// Only this prefix.
        prefix: Option<String>,
    },
}

/// `-f FILE`.
#[derive(Args, Debug)]
pub struct FileArgs {
    /// Manifest file (YAML or JSON; several documents allowed), or - for stdin.
    #[arg(short, long, value_name = "FILE")]
    pub filename: String,
}
