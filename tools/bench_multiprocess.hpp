// `ormo-bench multiprocess`: the Fashion-MNIST MLP 784-128-10 trained by
// two workers, as three processes (a server node and two worker nodes, each
// worker in its own process) against the same topology in one process.
#pragma once

namespace ormo::tools {

/// Runs `ormo` (beside this executable) on both topologies, taking turns,
/// at batch 256 and 32; prints samples/s and ratios, and as its last line
/// `RATIO multiprocess_vs_inprocess <value>` (batch 256, medians). Returns
/// the exit status (1 if a run failed).
int bench_multiprocess(bool quick);

} // namespace ormo::tools
