"""The emulator's runtime process: started on the invoke that finds none (a cold start), killed at
a timeout, stopped at shutdown with SIGTERM and the grace period, as Lambda treats it.

Part of `lambda_ack.cli.local.emulator.Emulator` (its state, `_cond` and the invocations, is set
up there).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time

from lambda_ack.cli.local.emulator_invocation import Invocation, error_headers, ms
from lambda_ack.cli.local.emulator_io import OutputPipe
from lambda_ack.cli.local.lambda_env import lambda_env

# What Lambda allows a runtime with internal extensions between SIGTERM and SIGKILL is 500 ms;
# a little more here, so a slow machine does not cut the runtime's own shutdown report short.
SHUTDOWN_GRACE_S = 1.0


class RuntimeProcessControl:
    def _start_runtime(self) -> None:
        env = lambda_env(self.task_root, self._extra_env)
        env.update(AWS_LAMBDA_RUNTIME_API=self.runtime_api_address, _HANDLER=self.handler)
        if self.max_concurrency > 1:  # what Lambda sets on Managed Instances
            env.update(
                AWS_LAMBDA_MAX_CONCURRENCY=str(self.max_concurrency),
                AWS_LAMBDA_LOG_FORMAT="JSON",
                AWS_LAMBDA_INITIALIZATION_TYPE="lambda-managed-instances",
            )
        self._seen_workers.clear()
        try:
            proc = subprocess.Popen(
                self.command,
                env=env,
                cwd=self.task_root,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: freeze and kill reach children
            )
        except OSError as e:  # what Lambda reports when bootstrap is missing or not executable
            while self._queue:
                inv = self._queue.popleft()
                inv.fail("Runtime.InvalidEntrypoint", f"RequestId: {inv.request_id} Error: {e}")
                inv.cold_start = True
                self._end(inv, "init error")
            return
        self._proc = proc
        self._fresh = True
        self._init_error = None
        self._pipe = OutputPipe(proc.stdout, self._append_output, self._output_lock)
        threading.Thread(target=self._pipe.follow, daemon=True).start()
        threading.Thread(target=self._watch, args=(proc, self._pipe), daemon=True).start()

    def _append_output(self, text: str) -> None:  # with _output_lock held
        self._output.append(text)
        self._output_lock.notify_all()
        if self._runtime_log is not None:
            self._runtime_log.write(text)
            self._runtime_log.flush()

    def _watch(self, proc: subprocess.Popen, pipe: OutputPipe) -> None:
        returncode = proc.wait()
        pipe.drain()
        with self._cond:
            if proc is self._proc:  # an exit the emulator did not cause
                self._runtime_exited(returncode)

    def _runtime_exited(self, returncode: int) -> None:
        self._proc = None
        self._frozen = False
        reason = f"Runtime exited with error: exit status {returncode}"
        for inv in list(self._running):
            inv.fail("Runtime.ExitError", f"RequestId: {inv.request_id} Error: {reason}")
            self._end(inv, "exited")
        if self._fresh and self._queue:  # died during init: the first waiting invoke hears it
            inv = self._queue.popleft()
            if self._init_error is not None:
                inv.respond(200, self._init_error, error_headers())
            else:
                inv.fail("Runtime.ExitError", f"RequestId: {inv.request_id} Error: {reason}")
            inv.cold_start = True
            self._end(inv, "init error")
        if self._queue and not self._closed:
            self._start_runtime()
        self._cond.notify_all()

    def _enforce_timeouts(self) -> None:
        with self._cond:
            while not self._closed:
                due = [inv for inv in self._running if not inv.timed_out]
                inv = min(due, key=lambda i: i.deadline) if due else None
                if inv is None:
                    self._cond.wait()
                elif (left := inv.deadline - time.monotonic()) > 0:
                    self._cond.wait(left)
                else:
                    self._time_out(inv)

    def _time_out(self, inv: Invocation) -> None:
        """What Lambda does at the deadline: the environment goes, whatever phase it was in.
        On Managed Instances only the caller hears it: the code goes on, holding its slot,
        and the others are not disturbed."""
        inv.timed_out = True
        self._timed_out_ids.add(inv.request_id)
        inv.fail(
            "Sandbox.Timedout",
            f"RequestId: {inv.request_id} Error: Task timed out after "
            f"{self.function_timeout_s:.2f} seconds",
        )
        if self.max_concurrency > 1:
            inv.status = "timeout"  # it ends when its worker asks for the next event
            self._cond.notify_all()
            return
        self._kill_runtime()
        self._end(inv, "timeout")
        if self._queue:
            self._start_runtime()

    def _shut_down_runtime(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return self._kill_runtime()
        for inv in self._running if self._timeline_stream is not None else ():
            phase = "its handler" if inv.posted is None else "its deferred work"
            ran_ms = ms(inv.handed or inv.received, time.perf_counter())
            print(
                f"emulator: stopping while {inv.request_id[:8]} runs {phase} ({ran_ms:.0f} ms "
                "in); the runtime gets SIGTERM and says what it cuts off",
                file=self._timeline_stream,
                flush=True,
            )
        if self._frozen:
            self._signal(signal.SIGCONT)
            self._frozen = False
        self._signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(SHUTDOWN_GRACE_S)
        if self._pipe is not None:
            self._pipe.drain()
        self._kill_runtime()

    def _kill_runtime(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            self._signal(signal.SIGKILL, proc)
            proc.wait(10)  # gone before anything else happens: see peer_alive
        self._frozen = False

    def _freeze(self) -> None:
        """SIGSTOP the runtime, and return once it has stopped. A signal stops a process only
        when one of its threads next runs and takes it: until then, under load, a thread woken
        meanwhile (by the answer it was waiting for) runs user code, where Lambda's freeze is
        complete before the environment waits. `waitid` reports the stop itself (the runtime
        is this process's child); WNOWAIT leaves the stop and any exit to be seen by others."""
        proc = self._proc
        self._signal(signal.SIGSTOP)
        self._frozen = True
        if proc is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitid(os.P_PID, proc.pid, os.WSTOPPED | os.WEXITED | os.WNOWAIT)

    def _signal(self, signum: int, proc: subprocess.Popen | None = None) -> None:
        proc = proc or self._proc
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signum)  # the group we created: pgid == pid
