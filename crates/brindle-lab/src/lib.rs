//! Throw-away test networks in Linux network namespaces, with real BGP daemons in them.
