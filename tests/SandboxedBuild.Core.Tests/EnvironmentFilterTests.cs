using SandboxedBuild.Policy;

namespace SandboxedBuild.Core.Tests;

public sealed class EnvironmentFilterTests
{
    [Theory]
    [InlineData("GITHUB_TOKEN")]
    [InlineData("NUGET_API_KEY")]
    [InlineData("AWS_SECRET_ACCESS_KEY")]
    [InlineData("AWS_ACCESS_KEY_ID")]
    [InlineData("SSH_AUTH_SOCK")]
    [InlineData("NPM_PASSWORD")]
    [InlineData("AZURE_DEVOPS_EXT_PAT")]
    [InlineData("DOTNET_FEED_TOKEN")]
    [InlineData("NUGET_CREDENTIALPROVIDER_SESSIONTOKENCACHE_ENABLED")]
    [InlineData("ConnectionStrings__Db_Password")]
    public void Secret_looking_names_never_pass_by_default(string name)
    {
        Assert.True(EnvironmentFilter.LooksSecret(name));
        Assert.False(EnvironmentFilter.PassesByDefault(name));
    }

    [Theory]
    [InlineData("PATH")]
    [InlineData("LANG")]
    [InlineData("LC_ALL")]
    [InlineData("TERM")]
    [InlineData("DOTNET_ROOT")]
    [InlineData("NUGET_CERT_REVOCATION_MODE")]
    [InlineData("MSBUILDDISABLENODEREUSE")]
    public void Allow_listed_names_pass(string name) => Assert.True(EnvironmentFilter.PassesByDefault(name));

    [Theory]
    [InlineData("EDITOR")]
    [InlineData("KUBECONFIG")]
    [InlineData("HISTFILE")]
    public void Names_off_the_allow_list_do_not_pass(string name) => Assert.False(EnvironmentFilter.PassesByDefault(name));

    [Theory]
    [InlineData("A", true)]
    [InlineData("_x1", true)]
    [InlineData("1A", false)]
    [InlineData("A-B", false)]
    [InlineData("", false)]
    public void Names_are_validated(string name, bool valid) => Assert.Equal(valid, EnvironmentFilter.IsValidName(name));
}
