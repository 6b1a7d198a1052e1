"""jupyter_kernel_test's protocol checks, run against the LoraLab kernel (kernelspec loralab-csharp)."""
import unittest

import jupyter_kernel_test


class LoraLabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "loralab-csharp"
    language_name = "C#"
    file_extension = ".cs"

    code_hello_world = 'Console.WriteLine("hello, world");'
    code_stderr = 'Console.Error.WriteLine("a warning");'
    completion_samples = [
        {"text": "Console.WriteL", "matches": {"WriteLine"}},
        {"text": "Math.Sqr", "matches": {"Sqrt"}},
    ]
    complete_code_samples = ["var x = 1;", "Console.WriteLine(1);", "if (true) { }", "6 * 7"]
    incomplete_code_samples = ["if (true) {", "var s = @\"two\nlines", "Math.Max(1,", "/* a comment"]
    invalid_code_samples = ["var = ;", "int x = 1 +;"]
    code_generate_error = 'throw new InvalidOperationException("boom");'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "\"con\" + \"cat\"", "result": "concat"},
    ]
    code_display_data = [{"code": 'display(HTML("<b>bold</b>"));', "mime": "text/html"}]
    code_history_pattern = "6 *"
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "Math.Sqrt"


if __name__ == "__main__":
    unittest.main()
