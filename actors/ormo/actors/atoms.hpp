// The atoms ormo's actors speak (CAF 0.17 atom constants, at most 10
// characters each).
#pragma once

#include <caf/atom.hpp>

namespace ormo::actors {

using pull_atom = caf::atom_constant<caf::atom("pull")>;
using push_atom = caf::atom_constant<caf::atom("push")>;
using step_atom = caf::atom_constant<caf::atom("step")>;
using resize_atom = caf::atom_constant<caf::atom("resize")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using compute_atom = caf::atom_constant<caf::atom("compute")>;
using add_atom = caf::atom_constant<caf::atom("add")>;
using remove_atom = caf::atom_constant<caf::atom("remove")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using milestone_atom = caf::atom_constant<caf::atom("milestone")>;
using partial_atom = caf::atom_constant<caf::atom("partial")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using lost_atom = caf::atom_constant<caf::atom("lost")>;
using checkpoint_atom = caf::atom_constant<caf::atom("checkpoint")>;
using pause_atom = caf::atom_constant<caf::atom("pause")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using enlist_atom = caf::atom_constant<caf::atom("enlist")>;
using spawn_atom = caf::atom_constant<caf::atom("spawn")>;
using routes_atom = caf::atom_constant<caf::atom("routes")>;
using route_atom = caf::atom_constant<caf::atom("route")>;
using fault_atom = caf::atom_constant<caf::atom("fault")>;
using tally_atom = caf::atom_constant<caf::atom("tally")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using links_atom = caf::atom_constant<caf::atom("links")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;

} // namespace ormo::actors
