"""Checks of the LoraLab kernel through jupyter_client, one per command-line argument; exit status 0 when it holds.

    python3 client_checks.py interrupt | sigint | bad-signature | two-kernels | restart | stop-on-error | live-output | stdin | survives-errors TORCH_DLL
"""
import signal
import sys
import time

import jupyter_client
from jupyter_client.session import Session

KERNEL = "loralab-csharp"
TIMEOUT = 30

# A shell without job control starts `cmd &` with SIGINT ignored, and an ignored signal stays ignored across exec: the
# kernel started below would never see the SIGINT that the sigint check sends it (a CI launched in the background
# failed so). Handling SIGINT here gives the processes this script starts the default disposition again.
signal.signal(signal.SIGINT, signal.default_int_handler)


def start():
    return jupyter_client.manager.start_new_kernel(kernel_name=KERNEL, startup_timeout=60)


def run(kc, code):
    """Executes code; returns (reply content, iopub messages of that request)."""
    msg_id = kc.execute(code)
    reply = shell_reply(kc, msg_id)
    outputs = []
    while True:
        msg = kc.get_iopub_msg(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return reply["content"], outputs
        outputs.append(msg)


def shell_reply(kc, msg_id):
    """The reply to msg_id, skipping late replies to the kernel_info requests of start-up."""
    while True:
        reply = kc.get_shell_msg(timeout=TIMEOUT)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def result_text(outputs):
    return [m["content"]["data"]["text/plain"] for m in outputs if m["msg_type"] == "execute_result"]


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def interrupt(by="message"):
    km, kc = start()
    try:
        run(kc, "long spins = 0;")
        msg_id = kc.execute("while (true) { spins++; }")
        # An interrupt reaches the running cell only (as in Jupyter): wait until the kernel has started this one (its
        # execute_input), so that a loaded machine, slow to pick the request up, cannot make the check race the kernel.
        while True:
            msg = kc.get_iopub_msg(timeout=TIMEOUT)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
                break
        time.sleep(1.5)  # let it spin
        started = time.time()
        if by == "signal":
            km.signal_kernel(signal.SIGINT)  # what a terminal's Ctrl+C, or interrupt_mode "signal", sends
        else:
            km.interrupt_kernel()  # interrupt_mode "message": an interrupt_request on the control channel
        reply = shell_reply(kc, msg_id)
        check(reply["content"]["status"] == "error" and reply["content"]["ename"] == "Interrupted",
              f"the interrupted cell ends with an Interrupted error, got {reply['content']}")
        print(f"interrupted after {time.time() - started:.2f} s")
        content, outputs = run(kc, "spins > 0")
        check(content["status"] == "ok", f"the next cell runs: {content}")
        check(result_text(outputs) == ["True"], f"the variables survive the interrupt: {result_text(outputs)}")
    finally:
        km.shutdown_kernel(now=True)


def bad_signature():
    km, kc = start()
    try:
        # A client with the wrong key signs a request the kernel must not run.
        forged = Session(key=b"not-the-key", username="attacker")
        forged.send(kc.shell_channel.socket, "execute_request",
                    {"code": "Console.WriteLine(\"forged\");", "silent": False, "store_history": True,
                     "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
        time.sleep(1.0)
        content, outputs = run(kc, "Console.WriteLine(\"genuine\");")
        check(content["status"] == "ok", content)
        check(content["execution_count"] == 1, f"only the genuine request ran: execution_count {content['execution_count']}")
        texts = [m["content"]["text"] for m in outputs if m["msg_type"] == "stream"]
        check(texts == ["genuine\n"], f"outputs: {texts}")
        check(km.is_alive(), "the kernel is still alive")
    finally:
        km.shutdown_kernel(now=True)


def two_kernels():
    (km1, kc1), (km2, kc2) = start(), start()
    try:
        ports1 = {km1.shell_port, km1.iopub_port, km1.stdin_port, km1.control_port, km1.hb_port}
        ports2 = {km2.shell_port, km2.iopub_port, km2.stdin_port, km2.control_port, km2.hb_port}
        check(not ports1 & ports2, f"different ports: {ports1} {ports2}")
        run(kc1, "var who = \"first\";")
        run(kc2, "var who = \"second\";")
        check(result_text(run(kc1, "who")[1]) == ["first"], "kernel 1 keeps its own state")
        check(result_text(run(kc2, "who")[1]) == ["second"], "kernel 2 keeps its own state")
    finally:
        km1.shutdown_kernel(now=True)
        km2.shutdown_kernel(now=True)


def stop_on_error():
    km, kc = start()
    try:
        run(kc, "var ran = 0;")
        failing = kc.execute("throw new InvalidOperationException(\"first cell fails\");")
        queued = kc.execute("ran++;")  # sent before the first one fails, as JupyterLab's Run All does
        check(shell_reply(kc, failing)["content"]["status"] == "error", "the first cell fails")
        check(shell_reply(kc, queued)["content"]["status"] == "aborted", "the queued cell is aborted")
        content, outputs = run(kc, "ran")
        check(result_text(outputs) == ["0"], f"the aborted cell did not run: {result_text(outputs)}")
    finally:
        km.shutdown_kernel(now=True)


def live_output():
    km, kc = start()
    try:
        run(kc, "1")  # compile once, so the timing below is the cell's, not Roslyn's start-up
        msg_id = kc.execute('Console.WriteLine("first");\nSystem.Threading.Thread.Sleep(4000);\nConsole.WriteLine("second");')
        while True:
            msg = kc.get_iopub_msg(timeout=3.5)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                break
        check(msg["content"]["text"] == "first\n", f"the first line arrives alone: {msg['content']}")
        first_seen = time.time()
        check(shell_reply(kc, msg_id)["content"]["status"] == "ok", "the cell finishes")
        waited = time.time() - first_seen
        check(waited > 2.0, f"the first line arrived while the cell still ran (the reply came {waited:.1f} s later, of 4)")
    finally:
        km.shutdown_kernel(now=True)


def stdin():
    km, kc = start()
    try:
        msg_id = kc.execute("var name = Console.ReadLine();\nname.ToUpperInvariant()", allow_stdin=True)
        request = kc.get_stdin_msg(timeout=TIMEOUT)
        check(request["msg_type"] == "input_request", f"the kernel asks for input: {request['msg_type']}")
        kc.input("ada")
        check(shell_reply(kc, msg_id)["content"]["status"] == "ok", "the cell finishes")
        check(result_text(run(kc, "name")[1]) == ["ada"], "Console.ReadLine returned the typed line")
        content = shell_reply(kc, kc.execute("Console.ReadLine()", allow_stdin=False))["content"]  # as under nbconvert
        check(content["status"] == "error" and "allow_stdin" in content["evalue"], f"no input: a clear error, not a hang: {content}")
    finally:
        km.shutdown_kernel(now=True)


def restart():
    km, kc = start()
    try:
        run(kc, "var before = 1;")
        pid = km.provisioner.pid if hasattr(km, "provisioner") else None
        km.restart_kernel(now=False)  # shutdown_request with restart: true, then a new process on the same ports
        kc.wait_for_ready(timeout=60)
        check(pid is None or km.provisioner.pid != pid, "a new process runs the kernel")
        content, _ = run(kc, "before")
        check(content["status"] == "error", f"the restarted session starts empty: {content}")
        content, outputs = run(kc, "1 + 1")
        check(content["status"] == "ok" and content["execution_count"] == 2 and result_text(outputs) == ["2"],
              f"the restarted kernel runs cells: {content} {result_text(outputs)}")
    finally:
        km.shutdown_kernel(now=True)


def survives_errors(torchsharp_dll, loralab_dll):
    km, kc = start()
    try:
        content, _ = run(kc, "void Fail() => throw new InvalidOperationException(\"boom\");\nFail();")
        check(content["status"] == "error" and content["ename"] == "System.InvalidOperationException", content)
        check(any("line 2" in frame for frame in content["traceback"]), f"the traceback names the cell line: {content['traceback']}")
        content, _ = run(kc, "int broken = ;")
        check(content["status"] == "error" and "(1," in content["evalue"], f"a compile error names its line: {content}")
        # libtorch, loaded through LoraLab's runtime in the kernel's process; bad input to it is the cell's error
        # (libtorch's message in an ExternalException), not a dead process.
        content, _ = run(kc, f'#r "{torchsharp_dll}"\n#r "{loralab_dll}"\nusing TorchSharp;\nvar loaded = LoraLab.TorchRuntime.LoadedFrom;')
        check(content["status"] == "ok", f"libtorch loads in the kernel: {content}")
        content, _ = run(kc, "var bad = torch.zeros(2, 3).mm(torch.zeros(4, 5));")
        check(content["status"] == "error" and content["ename"] == "System.Runtime.InteropServices.ExternalException"
              and "2x3 and 4x5" in content["evalue"], f"libtorch's error is the cell's error: {content}")
        check(km.is_alive(), "the kernel process is alive")
        content, outputs = run(kc, "torch.ones(2, 2).sum().ToDouble()")
        check(content["status"] == "ok" and result_text(outputs) == ["4"], f"the session still works: {content} {result_text(outputs)}")
    finally:
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    case, *rest = sys.argv[1:]
    {"interrupt": interrupt, "sigint": lambda: interrupt("signal"), "bad-signature": bad_signature, "two-kernels": two_kernels, "restart": restart, "stop-on-error": stop_on_error, "live-output": live_output, "stdin": stdin,
     "survives-errors": survives_errors}[case](*rest)
    print(f"{case}: ok")
