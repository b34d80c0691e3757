// Entry point of `tcbpf`. Errors from any stage arrive as tcbpf::Error and leave with exit status 1 and
// one line on stderr; usage errors are CLI11's, exit status 2 as tc uses for bad arguments.
#include <cstdio>

#include "cli/commands.h"
#include "tcbpf/error.h"

int main(int argc, char** argv) {
    if (const auto status = tcbpf::cli::run_tc_command_line(argc, argv)) return *status;
    if (const auto status = tcbpf::cli::run_ctl_command_line(argc, argv)) return *status;
    CLI::App app{"tcbpf: tc-bpf classifiers and actions in user space"};
    app.require_subcommand(1);
    tcbpf::cli::add_isa_commands(app);
    tcbpf::cli::add_prog_commands(app);
    tcbpf::cli::add_map_commands(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return 2;
    } catch (const tcbpf::Error& e) {
        std::fprintf(stderr, "tcbpf: %s\n", e.what());
        return 1;
    }
    return 0;
}
