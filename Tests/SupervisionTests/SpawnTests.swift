import Glibc
import Supervision
import Testing

/// What a child finds when it starts: the launcher spawns it itself (clone, then the layout and
/// the parent-death signal, then exec), so these are the promises that the C library's
/// posix_spawn used to keep for it.
@Suite(.timeLimit(.minutes(1)))
struct SpawnTests {
    @Test func aChildStartsWithItsOwnGroupNullInputOnlyItsDescriptorsAndDefaultSignals() async throws {
        // Ignored here, as the launcher ignores it: a child that inherited SIG_IGN would never
        // see a broken pipe. Left ignored afterwards: other tests of this process run meanwhile,
        // and a write to a closed socket must not end it.
        signal(SIGPIPE, SIG_IGN)
        let directory = SupervisorHarness.tempDirectory()
        let script = """
            cut -d' ' -f5 /proc/$$/stat > \(directory)/group; echo $$ > \(directory)/pid
            readlink /proc/$$/fd/0 > \(directory)/input
            grep -E '^Sig(Blk|Ign):' /proc/self/status > \(directory)/signals
            exec ls /proc/self/fd > \(directory)/descriptors
            """
        try await withSupervisor(in: directory, [shell("probe", script, notify: true, restart: .never)]) { harness in
            try await harness.events.until("probe", { $0 == .exited(.exited(code: 0)) })
            #expect(harness.read("group") == harness.read("pid"))
            #expect(harness.read("input") == "/dev/null\n")
            // 0-2, the notify pipe at 3, and ls's own reading of the directory at 4: nothing of
            // the launcher's (the shell's redirections borrow descriptors, hence ls in its place).
            #expect(harness.read("descriptors") == "0\n1\n2\n3\n4\n")
            #expect(harness.read("signals") == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n")
        }
    }

    @Test func aProgramThatCannotBeExecutedSaysWhyInItsLogAndExits127() async throws {
        let directory = SupervisorHarness.tempDirectory()
        var spec = shell("missing", "", restart: .never, log: directory + "/missing.log")
        spec.executable = directory + "/no-such-program"
        try await withSupervisor(in: directory, [spec]) { harness in
            try await harness.events.until("missing", { $0 == .exited(.exited(code: 127)) })
            #expect(harness.read("missing.log") == "satellite: cannot execute \(directory)/no-such-program: No such file or directory\n")
        }
    }

    @Test func aBareNameIsFoundOnTheChildsOwnPathAndAScriptWithoutAnInterpreterLineRunsInSh() async throws {
        let directory = SupervisorHarness.tempDirectory()
        let bin = directory + "/bin"
        #expect(mkdir(bin, 0o755) == 0)
        // No `#!` line: the kernel refuses it (ENOEXEC), and execvp's rule runs it with /bin/sh.
        let script = "echo \"$0 $1 $2\" > \(directory)/greeting\nexec sleep 1000\n"
        let file = fopen(bin + "/greet", "w")
        fputs(script, file)
        fclose(file)
        #expect(chmod(bin + "/greet", 0o755) == 0)
        var spec = shell("greeter", "", restart: .never)
        spec.executable = "greet"
        spec.arguments = ["hello", "there"]
        // Not on the launcher's PATH: found on the child's.
        spec.environment = ["PATH": "/nonexistent:" + bin + ":/usr/bin:/bin"]
        try await withSupervisor(in: directory, [spec]) { harness in
            try await eventually("the script ran") { !harness.read("greeting").isEmpty }
            #expect(harness.read("greeting") == "\(bin)/greet hello there\n")
        }
    }
}
