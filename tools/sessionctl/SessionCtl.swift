import ArgumentParser
import Foundation
import Sessions

/// `sessionctl`: inspect and look after a session database, even while a service is using it.
///
/// Exit codes: 0 success, 1 not found or nothing done, 2 usage error, 3 storage error.
@main
struct SessionCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessionctl",
        abstract: "Inspect and maintain a session database.",
        discussion: """
            The database defaults to $SESSION_DB, else ./sessions.sqlite. Every command works while \
            a service is using the same file.

            With --postgres URL (or $SESSION_POSTGRES_URL), stats, list, show, revoke, purge and \
            verify work against a PostgreSQL session store instead (sessionctl built with the \
            Postgres trait: swift build -c release --product sessionctl --traits Postgres).

            Exit codes: 0 success, 1 not found or nothing done, 2 usage error, 3 storage error.
            """,
        subcommands: [
            StatsCommand.self, ListCommand.self, ShowCommand.self, RevokeCommand.self, PurgeCommand.self,
            VerifyCommand.self, ExportCommand.self, ImportCommand.self, MigrateCommand.self, CheckpointCommand.self,
            VacuumCommand.self, ReencryptCommand.self, KeygenCommand.self, SyncCommand.self, DemoCommand.self,
        ]
    )

    static func main() async {
        do {
            var command = try await asyncParseAsRoot(Self.tokensAsArguments(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as SessionStoreError {
            FileHandle.standardError.write(Data("sessionctl: \(error)\n".utf8))
            Foundation.exit(CtlExit.code(for: error).rawValue)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(CtlExit.usage.rawValue)
            }
            exit(withError: error)
        }
    }
}

extension SessionCtl {
    /// Flags: an argument after one of these is not its value.
    static let flags: Set<String> = ["--json", "--expired", "--dry-run", "--strict", "--active-only", "--decrypt", "--live", "--reset"]

    /// A token is base64url and starts with "-" one time in 64, which the argument parser would
    /// take for an option ("Missing expected argument"). A session token where a command's
    /// argument may stand (not the value of an option) moves behind `--`, so pasting any token works.
    static func tokensAsArguments(_ arguments: [String]) -> [String] {
        let end = arguments.firstIndex(of: "--") ?? arguments.endIndex
        var kept: [String] = []
        var moved: [String] = []
        for (index, argument) in arguments[..<end].enumerated() {
            let previous = index > 0 ? arguments[index - 1] : ""
            let isOptionValue = previous.hasPrefix("-") && !flags.contains(previous)
            if argument.hasPrefix("-"), !isOptionValue, (try? SessionToken(argument)) != nil {
                moved.append(argument)
            } else {
                kept.append(argument)
            }
        }
        guard !moved.isEmpty else { return arguments }
        let rest = end < arguments.endIndex ? Array(arguments[arguments.index(after: end)...]) : []
        return kept + ["--"] + moved + rest
    }
}

/// The exit codes `sessionctl` promises.
enum CtlExit {
    static let success = ExitCode(0)
    static let notFound = ExitCode(1)
    static let usage = ExitCode(2)
    static let storage = ExitCode(3)

    static func code(for error: SessionStoreError) -> ExitCode {
        switch error.code {
        case .notFound: notFound
        case .malformedToken, .invalidArgument, .configurationError: usage
        default: storage
        }
    }
}
