namespace SandboxedBuild.Network;

/// <summary>The user's answer when a host no rule decides is requested.</summary>
public enum PromptAnswer
{
    /// <summary>Refuse.</summary>
    Deny,

    /// <summary>Allow for the rest of this run.</summary>
    Once,

    /// <summary>Allow now and in every later run (stored in the user's configuration).</summary>
    Always,
}

/// <summary>Asks the user about a host that no rule decides.</summary>
public interface IHostPrompt
{
    /// <summary>Asks about <paramref name="host"/>:<paramref name="port"/>.</summary>
    PromptAnswer Ask(string host, int port);
}
