using SandboxedBuild.Diagnostics;
using SandboxedBuild.Network;
using SandboxedBuild.Errors;

namespace SandboxedBuild.Cli;

/// <summary>
/// Asks at the controlling terminal (not on stdin, which belongs to the command) whether a host no
/// rule decides may be reached. Only when a terminal is there; otherwise the proxy denies.
/// </summary>
internal sealed class TerminalPrompt : IHostPrompt
{
    private TerminalPrompt()
    {
    }

    /// <summary>A prompt when the caller sits at a terminal, else <see langword="null"/>.</summary>
    public static TerminalPrompt? IfInteractive() =>
        !Console.IsInputRedirected && !Console.IsErrorRedirected && File.Exists("/dev/tty") ? new TerminalPrompt() : null;

    public PromptAnswer Ask(string host, int port)
    {
        try
        {
            using var tty = new FileStream("/dev/tty", FileMode.Open, FileAccess.ReadWrite);
            using var writer = new StreamWriter(tty, leaveOpen: true) { AutoFlush = true };
            using var reader = new StreamReader(tty, leaveOpen: true);
            // On a line of its own, so that it does not run into the command's output; the name comes
            // from the sandbox, so it is escaped and bounded before it reaches the terminal.
            var display = TerminalText.Name(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host);
            writer.Write($"\ndotnet-sandbox: the command wants to reach {display}:{port}, which no rule allows.\n  [o]nce for this run, [a]lways (saved in your configuration), [d]eny (default), then Enter: ");
            var answer = reader.ReadLine()?.Trim().ToLowerInvariant();
            return answer switch
            {
                "o" or "once" => PromptAnswer.Once,
                "a" or "always" => PromptAnswer.Always,
                _ => PromptAnswer.Deny,
            };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return PromptAnswer.Deny;
        }
    }
}
