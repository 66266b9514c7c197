//! The linearizability search (Wing-Gong-Lowe with memo), per partition, partitions in parallel.
