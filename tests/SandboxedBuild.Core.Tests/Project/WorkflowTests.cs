using SandboxedBuild.Inference;

namespace SandboxedBuild.Core.Tests.Project;

/// <summary>The <c>dotnet</c> command line each step of the workflow runs.</summary>
public sealed class WorkflowTests
{
    private static readonly string[] Shared = ["--configuration", "Release"];

    [Fact]
    public void The_restore_takes_its_own_routed_options_and_no_no_restore_flag()
    {
        Assert.Equal(["dotnet", "restore", "/r/App.sln", "--nologo"], Workflow.DotnetArguments(WorkflowStep.Restore, "/r/App.sln", [], []));
        Assert.Equal(["dotnet", "restore", "/r/App.sln", "--property:Configuration=Release", "--nologo", "--locked-mode"], Workflow.DotnetArguments(WorkflowStep.Restore, "/r/App.sln", ["--property:Configuration=Release"], ["--locked-mode"]));
    }

    [Fact]
    public void Build_and_test_take_the_shared_arguments_and_skip_what_an_earlier_step_did()
    {
        Assert.Equal(["dotnet", "build", "/r/App.sln", "--configuration", "Release", "--no-restore"], Workflow.DotnetArguments(WorkflowStep.Build, "/r/App.sln", Shared, []));
        Assert.Equal(["dotnet", "test", "/r/App.sln", "--configuration", "Release", "--no-build", "--filter", "A B"], Workflow.DotnetArguments(WorkflowStep.Test, "/r/App.sln", Shared, ["--filter", "A B"]));
    }

    [Fact]
    public void Run_names_the_project_and_gives_the_app_its_arguments_after_its_own_separator()
    {
        Assert.Equal(["dotnet", "run", "--project", "/r/App.csproj", "--no-build"], Workflow.DotnetArguments(WorkflowStep.Run, "/r/App.csproj", [], []));
        Assert.Equal(["dotnet", "run", "--project", "/r/App.csproj", "--no-build", "--", "--port", "8080"], Workflow.DotnetArguments(WorkflowStep.Run, "/r/App.csproj", [], ["--port", "8080"]));
    }
}
