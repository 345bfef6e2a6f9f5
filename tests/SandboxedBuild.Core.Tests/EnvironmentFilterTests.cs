using SandboxedBuild.Policy;
using SandboxedBuild.Errors;

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
    [InlineData("NUGET_PASS")]
    [InlineData("NUGET_PASS_FEED2")]
    [InlineData("DOTNET_FEED_BEARER")]
    [InlineData("MSBUILD_SIGNING_PW")]
    [InlineData("NUGET_JWT")]
    [InlineData("NUGET_FEED_CREDS")]
    [InlineData("NUGET_CRED_X")]
    [InlineData("NUGET_FEED_PAT")]
    [InlineData("DOTNET_BLOB_SAS")]
    [InlineData("nuget_pw")]
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
    [InlineData("NUGET_PACKAGES")]
    [InlineData("DOTNET_CLI_TELEMETRY_OPTOUT")]
    [InlineData("NUGET_PATCH_LEVEL")]
    [InlineData("DOTNET_PATHS")]
    [InlineData("MSBUILDPASSTHROUGH")]
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

    [Theory]
    [InlineData("NUGET_FEED", "https://ci:hunter2@pkgs.example.com/v3/index.json")]
    [InlineData("DOTNET_PROXY_URL", "http://user:p%40ss@proxy:3128")]
    [InlineData("DOTNET_DB", "Server=db;User Id=sa;Password=hunter2;")]
    [InlineData("DOTNET_DB", "Server=db;Uid=sa;Pwd = hunter2")]
    [InlineData("NUGET_STORE", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0")]
    [InlineData("DOTNET_BUS", "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=c2VjcmV0")]
    [InlineData("LANG", "password=x")]
    public void Secret_looking_values_never_pass_by_default(string name, string value)
    {
        Assert.True(EnvironmentFilter.PassesByDefault(name));
        Assert.True(EnvironmentFilter.LooksSecretValue(value));
        Assert.False(EnvironmentFilter.PassesByDefault(name, value));
    }

    [Theory]
    [InlineData("NUGET_FEED", "https://pkgs.example.com/v3/index.json")]
    [InlineData("DOTNET_PROXY_URL", "http://proxy:3128")]
    [InlineData("DOTNET_PROXY_URL", "http://user@proxy:3128/")]
    [InlineData("PATH", "/usr/local/bin:/usr/bin:/bin")]
    [InlineData("DOTNET_DB", "Server=db;Integrated Security=true")]
    [InlineData("MSBUILDNOPASSWORDPROMPT", "1")]
    [InlineData("LANG", "C.UTF-8")]
    public void Ordinary_values_pass(string name, string value)
    {
        var passes = EnvironmentFilter.PassesByDefault(name);
        Assert.False(EnvironmentFilter.LooksSecretValue(value));
        Assert.Equal(passes, EnvironmentFilter.PassesByDefault(name, value));
    }

    [Fact]
    public void A_secret_value_is_kept_out_of_the_policy_unless_named_and_then_masked()
    {
        var variables = TestHosts.DefaultVariables();
        variables["NUGET_FEED_URL"] = "https://ci:hunter2@pkgs.example.com/v3/index.json";
        variables["NUGET_SOURCE_URL"] = "https://pkgs.example.com/v3/index.json";
        var host = TestHosts.Create(variables: variables);
        var policy = ExecPolicyBuilder.Build(host, new ExecOptions(), new List<Diagnostic>());
        Assert.DoesNotContain(policy.Environment, e => e.Name == "NUGET_FEED_URL");
        Assert.Contains(policy.Environment, e => e.Name == "NUGET_SOURCE_URL" && !e.LooksSecret);

        var warnings = new List<Diagnostic>();
        var named = ExecPolicyBuilder.Build(host, new ExecOptions { PassVariables = ["NUGET_FEED_URL"] }, warnings);
        Assert.True(named.Environment.Single(e => e.Name == "NUGET_FEED_URL").LooksSecret);
        Assert.DoesNotContain("hunter2", PolicyWriter.ToText(named), StringComparison.Ordinal);
    }
}
