"""Finding and running the C++ replayer (tools/keel-size/replay.cpp).

A replayer is built for one pointer width: keel-size-replay-8 (64-bit) and keel-size-replay-4
(32-bit, -m32). They sit next to the keelsize package: in the build tree, in the source tree
after a build that copied them there, or in the installed libexec/keel-size directory. A 32-bit
replayer that this kernel cannot run (no IA32 emulation: "Exec format error") is run under
qemu-i386, as cmake/test-programs.cmake runs the host-m32 tests; KEEL_SIZE_QEMU=1 in the
environment runs it so always (to test that path on a machine that runs 32-bit programs).
"""

import errno
import json
import os
import shutil
import subprocess


class ReplayError(Exception):
    """The replayer is missing, cannot run here, or stopped with an error."""


def _home():
    return os.environ.get("KEEL_SIZE_HOME") or os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))


class Replayer:
    """One replayer program and how to start it."""

    def __init__(self, pointer_bytes):
        self.pointer_bytes = pointer_bytes
        self.path = os.path.join(_home(), "keel-size-replay-%d" % pointer_bytes)
        if not os.access(self.path, os.X_OK):
            hint = ""
            if pointer_bytes == 4:
                hint = (" (keel-size builds the 32-bit replayer where the compiler can build "
                        "-m32 programs: install g++-multilib and build keel again)")
            raise ReplayError("no replayer for %d-byte pointers at %s%s" %
                              (pointer_bytes, self.path, hint))
        self.prefix = []
        self.how = "native"
        self.info = self._start()

    def _start(self):
        forced = os.environ.get("KEEL_SIZE_QEMU") == "1" and self.pointer_bytes == 4
        try:
            if not forced:
                return json.loads(self._call(["info"], ""))
        except OSError as error:
            if error.errno != errno.ENOEXEC or self.pointer_bytes != 4:
                raise ReplayError("cannot run %s: %s" % (self.path, error.strerror)) from None
        qemu = shutil.which("qemu-i386")
        if qemu is None:
            raise ReplayError("this kernel cannot run 32-bit programs (%s: Exec format error), "
                              "and qemu-i386 (Debian's qemu-user) is not installed" % self.path)
        self.prefix = [qemu]
        self.how = "under qemu-i386"
        try:
            return json.loads(self._call(["info"], ""))
        except (OSError, ReplayError) as error:
            raise ReplayError("neither this kernel nor qemu-i386 runs %s: %s" %
                              (self.path, error)) from None

    def _call(self, arguments, text):
        process = subprocess.run(self.prefix + [self.path] + arguments, input=text,
                                 capture_output=True, text=True, check=False)
        if process.returncode != 0:
            raise ReplayError("%s %s failed (exit status %d): %s" %
                              (os.path.basename(self.path), arguments[0], process.returncode,
                               process.stderr.strip() or "no message"))
        return process.stdout

    def supports(self, search_limit):
        return search_limit in self.info["search_limits"]

    def lines(self, arguments, text):
        """Runs the replayer and returns its JSON lines."""
        output = self._call(arguments, text)
        try:
            return [json.loads(line) for line in output.splitlines() if line.strip()]
        except ValueError:
            raise ReplayError("the replayer printed what is not JSON: %r" % output[:200]) \
                from None


def option_arguments(options):
    """The replayer's option flags for a dict with checking, tags, statistics, hardened,
    search_limit and base_offset."""
    return ["--checking", options["checking"], "--tags", str(int(options["tags"])),
            "--statistics", str(int(options["statistics"])), "--hardened",
            str(int(options["hardened"])), "--search-limit", str(options["search_limit"]),
            "--base-offset", str(options["base_offset"])]
