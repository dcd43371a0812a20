#include "command_line.hpp"

#include <cstdio>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

namespace ormo::tools {

namespace {

const char* description
  = "ormo: train with asynchronous SGD and ordered momentum on CAF actors.\n"
    "Exit status: 0 success, 2 bad usage or configuration, 1 runtime "
    "failure,\n130 interrupted (Ctrl-C: the run ends with its outputs "
    "written).";

/// Prints a usage error as one line, then where to find help.
int usage_error(const std::string& message, const std::string& help_command) {
  std::fprintf(stderr, "ormo: %s\nRun '%s' for usage.\n", message.c_str(),
               help_command.c_str());
  return exit_usage;
}

} // namespace

command_line parse_command_line(int argc, char** argv) {
  command_line result;
  CLI::App app{description, "ormo"};
  app.set_version_flag("--version", std::string("ormo ") + ORMO_VERSION,
                       "Print the version and exit");
  app.require_subcommand(1);
  app.footer("Run 'ormo run --help' for the options of a run.");

  auto* run = app.add_subcommand(
    "run", "Train: one run of a topology, outputs in output.dir");
  std::string file;
  auto* file_option = run->add_option(
    "FILE", file, "Topology (TOML); default: the built-in topology");
  file_option->type_name("");
  auto* out = run->add_option("--out", "Output directory (output.dir)")
                ->type_name("DIR")
                ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  auto* set
    = run
        ->add_option("--set", "Override one key, e.g. algorithm.momentum=0.8\n"
                              "(repeatable; a later one wins)")
        ->type_name("K=V")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  auto* deterministic = run->add_flag(
    "--deterministic", "Virtual time: same file and seed, same metrics");
  std::string resume;
  auto* resume_option
    = run
        ->add_option("--resume", resume,
                     "Go on from the newest checkpoint in DIR (an output\n"
                     "directory or its checkpoints/), with the topology\n"
                     "saved there")
        ->type_name("DIR")
        ->excludes(file_option);
  run->footer("See docs/configuration.md for every key.");

  auto* node = app.add_subcommand(
    "node", "Run one node of a multi-process topology ([[nodes]] in FILE)");
  std::string node_file;
  node->add_option("FILE", node_file, "Topology (TOML) with [[nodes]]")
    ->type_name("")
    ->required();
  std::string node_name;
  node->add_option("--name", node_name, "The node to run (nodes[].name)")
    ->type_name("NODE")
    ->required();
  auto* node_out
    = node->add_option("--out", "Output directory (output.dir)")
        ->type_name("DIR")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  auto* node_set
    = node->add_option("--set", "Override one key (repeatable)")
        ->type_name("K=V")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  node->footer("Every node must be given the same FILE and overrides.");

  auto* help = app.add_subcommand("help", "Print this help, or a command's");
  std::string help_topic;
  help->add_option("COMMAND", help_topic, "Print the help of COMMAND (run)");
  app.add_subcommand("version", "Print the version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    result.exit_status = app.exit(e);
    return result;
  } catch (const CLI::CallForVersion& e) {
    result.exit_status = app.exit(e);
    return result;
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    if (app.get_subcommands().empty()) // CLI11 says "subcommand required"
      message = argc < 2            ? "missing command (run, help or version)"
                : argv[1][0] == '-' ? std::string("unknown option ") + argv[1]
                                    : std::string("unknown command ") + argv[1];
    result.exit_status = usage_error(
      message, run->parsed()    ? "ormo run --help"
               : node->parsed() ? "ormo node --help"
                                : "ormo --help");
    return result;
  }

  // App::help() would describe the subcommand `help` itself.
  auto help_of = [](CLI::App* command, const std::string& name) {
    return command->get_formatter()->make_help(command, name,
                                               CLI::AppFormatMode::Normal);
  };
  if (help->parsed()) {
    if (help_topic.empty()) {
      std::printf("%s", help_of(&app, "ormo").c_str());
    } else if (help_topic == "run") {
      std::printf("%s", help_of(run, "ormo run").c_str());
    } else if (help_topic == "node") {
      std::printf("%s", help_of(node, "ormo node").c_str());
    } else {
      result.exit_status = usage_error(
        "no help for unknown command " + help_topic, "ormo --help");
      return result;
    }
    result.exit_status = 0;
    return result;
  }
  if (!run->parsed() && !node->parsed()) { // version
    std::printf("ormo %s\n", ORMO_VERSION);
    result.exit_status = 0;
    return result;
  }

  // The options in the order given, so that a later one wins as it would
  // in the file: --out is output.dir, --deterministic run.deterministic.
  std::map<const CLI::Option*, std::size_t> used;
  auto* command = run->parsed() ? run : node;
  auto* out_option = run->parsed() ? out : node_out;
  auto* set_option = run->parsed() ? set : node_set;
  for (const auto* option : command->parse_order()) {
    if (option == deterministic) {
      result.run.overrides.push_back({"run.deterministic", "true"});
    } else if (option == out_option) {
      const auto& dir = out_option->results().at(used[out_option]++);
      result.run.overrides.push_back({"output.dir", '"' + dir + '"'});
    } else if (option == set_option) {
      auto parsed
        = config::parse_override(set_option->results().at(used[set_option]++));
      if (!parsed) {
        result.exit_status = usage_error(
          parsed.error().message(),
          run->parsed() ? "ormo run --help" : "ormo node --help");
        return result;
      }
      result.run.overrides.push_back(*parsed);
    }
  }
  if (node->parsed()) {
    result.run.file = node_file;
    result.run.node = node_name;
  } else if (file_option->count() > 0) {
    result.run.file = file;
  }
  if (resume_option->count() > 0)
    result.run.resume = resume;
  return result;
}

} // namespace ormo::tools
