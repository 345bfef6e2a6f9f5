using System.CommandLine;
using SandboxedBuild.Diagnostics;
using SandboxedBuild.Policy;

namespace SandboxedBuild.Cli.Commands.Doctor;

/// <summary><c>dotnet sandbox doctor</c>: can this machine sandbox, and does the sandbox hold?</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var doctor = new Command("doctor",
            """
            Check that this machine can sandbox, then attack a real sandbox and report what held.

            Checks bubblewrap (present, version), user namespaces, and whether you run as root;
            then plants bait and tries to read it, to write outside the project, to create a git
            hook, to reach a listener on the host's loopback, and to leave a process running.
            Each attack must fail while the legitimate write in the project succeeds.

            Exit status: 0 when everything held, 1 when something did not.

            Example:
              dotnet sandbox doctor
            """);
        doctor.SetAction(_ =>
        {
            CliApp.RequireSupportedPlatform();
            var failed = 0;
            foreach (var check in SandboxedBuild.Diagnostics.Doctor.Run(BridgeLocation.NextToThisTool(), RunControl.ProcessSignals))
            {
                var mark = check.Outcome switch
                {
                    CheckOutcome.Pass => "ok  ",
                    CheckOutcome.Fail => "FAIL",
                    CheckOutcome.Skip => "skip",
                    _ => "info",
                };
                Console.Out.WriteLine($"[{mark}] {check.Name}: {check.Detail}");
                if (check.Outcome == CheckOutcome.Fail)
                {
                    failed++;
                }
            }

            Console.Out.WriteLine(failed == 0 ? "This machine can sandbox; every attack was stopped." : $"{failed} check(s) failed: see above.");
            return failed == 0 ? 0 : 1;
        });
        return doctor;
    }
}
