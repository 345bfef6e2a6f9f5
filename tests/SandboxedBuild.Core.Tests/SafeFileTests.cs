using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using SandboxedBuild.Errors;
using SandboxedBuild.Linux;
using SandboxedBuild.Interop;

namespace SandboxedBuild.Core.Tests;

/// <summary>
/// <see cref="SafeFile"/> reads what a sandbox could have written: only a regular file of its own,
/// bounded. Every refusal is SBX3018 naming the file, never the bait's content, never a hang.
/// </summary>
public sealed class SafeFileTests : IDisposable
{
    private const string BaitText = "BAIT-aws_secret_access_key=wJalrXUtnFEMI";
    private readonly string _root = Directory.CreateTempSubdirectory("sbx-safefile-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Bait()
    {
        var bait = Path.Combine(_root, "credentials");
        File.WriteAllText(bait, BaitText);
        return bait;
    }

    // Each read runs with a deadline: a read that blocks fails the test instead of hanging the run.
    private static T Within<T>(Func<T> read)
    {
        var task = Task.Run(read);
        Assert.True(task.Wait(TimeSpan.FromSeconds(10)) || task.IsCompleted, "the read did not end within 10 s");
        return task.Result;
    }

    private static SandboxException Refused(Func<object?> read, string path)
    {
        var task = Task.Run(read);
        var ended = Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(10))).GetAwaiter().GetResult() == task;
        Assert.True(ended, "the read did not end within 10 s");
        var e = Assert.IsType<SandboxException>(task.Exception?.InnerException);
        Assert.Same(Errors.Errors.UnsafeFileRefused, e.Error);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(BaitText, e.Message, StringComparison.Ordinal);
        return e;
    }

    [Fact]
    public void A_regular_file_is_read_and_a_missing_one_is_null()
    {
        var file = Path.Combine(_root, "0.json");
        File.WriteAllText(file, "\uFEFF{\"ok\":true}");
        Assert.Equal("{\"ok\":true}", SafeFile.ReadAllText(file, 64));
        Assert.Equal(14, SafeFile.ReadAllBytes(file, 64).Length);
        Assert.Null(SafeFile.TryReadAllBytes(Path.Combine(_root, "missing.rc"), 64));
        Assert.Null(SafeFile.TryReadAllText(Path.Combine(_root, "no-dir", "x.props"), 64));
        Assert.Throws<FileNotFoundException>(() => SafeFile.ReadAllBytes(Path.Combine(_root, "missing.rc"), 64));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_link_to_a_secret_is_refused_and_its_content_never_read(bool relative)
    {
        var bait = Bait();
        var planted = Path.Combine(_root, "0.out");
        File.CreateSymbolicLink(planted, relative ? "credentials" : bait);
        var e = Refused(() => SafeFile.ReadAllText(planted, SafeFile.DefaultMaxBytes), planted);
        Assert.Contains("symbolic link", e.Message, StringComparison.Ordinal);

        // The legitimate variant: the file itself.
        Assert.Equal(BaitText, SafeFile.ReadAllText(bait, SafeFile.DefaultMaxBytes));
    }

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/proc/self/environ")]
    [InlineData("/dev/stdin")]
    public void A_link_to_a_device_or_proc_file_is_refused_promptly(string target)
    {
        var planted = Path.Combine(_root, "app.csproj.nuget.g.props");
        File.CreateSymbolicLink(planted, target);
        Refused(() => SafeFile.TryReadAllBytes(planted, SafeFile.DefaultMaxBytes), planted);
    }

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/dev/urandom")]
    public void With_links_followed_a_device_at_the_end_is_still_refused(string target)
    {
        var planted = Path.Combine(_root, "NuGet.Config");
        File.CreateSymbolicLink(planted, target);
        Refused(() => SafeFile.TryReadAllBytes(planted, SafeFile.DefaultMaxBytes, followLinks: true), planted);
    }

    [Fact]
    public void A_device_itself_is_refused_even_when_links_may_be_followed()
    {
        var e = Refused(() => SafeFile.ReadAllBytes("/dev/zero", SafeFile.DefaultMaxBytes, followLinks: true), "/dev/zero");
        Assert.Contains("character device", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fifo_nobody_writes_is_refused_without_blocking()
    {
        var fifo = Path.Combine(_root, "0.rc");
        var mkfifo = Process.Start("mkfifo", [fifo]);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        var e = Refused(() => SafeFile.ReadAllText(fifo, 64), fifo);
        Assert.Contains("FIFO", e.Message, StringComparison.Ordinal);

        // Through a link, with links allowed: open(O_NONBLOCK) does not wait for a writer, fstat refuses it.
        var link = Path.Combine(_root, "link-to-fifo");
        File.CreateSymbolicLink(link, fifo);
        Refused(() => SafeFile.ReadAllText(link, 64, followLinks: true), link);
    }

    [Fact]
    public void A_link_target_with_terminal_escapes_is_printed_escaped()
    {
        var planted = Path.Combine(_root, "0.out");
        File.CreateSymbolicLink(planted, "\u001b]0;pwned\u0007\u001b[2J/x");
        var e = Refused(() => SafeFile.ReadAllText(planted, 64), planted);
        Assert.DoesNotContain('\u001b', e.Message);
        Assert.DoesNotContain('\u0007', e.Message);
        Assert.Contains("\\x1B]0;pwned\\x07\\x1B[2J/x", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_and_a_socket_are_refused()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_root, "project.assets.json")).FullName;
        Assert.Contains("directory", Refused(() => SafeFile.ReadAllBytes(dir, 64), dir).Message, StringComparison.Ordinal);

        var path = Path.Combine(_root, "s.props");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        Assert.Contains("socket", Refused(() => SafeFile.ReadAllBytes(path, 64), path).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_over_the_cap_is_refused_and_one_at_the_cap_is_read()
    {
        var big = Path.Combine(_root, "huge.json");
        using (var stream = File.Create(big))
        {
            stream.SetLength(SafeFile.DefaultMaxBytes + 1L);
        }

        var e = Refused(() => SafeFile.ReadAllBytes(big, SafeFile.DefaultMaxBytes), big);
        Assert.Contains("larger than 4 MiB", e.Message, StringComparison.Ordinal);

        using (var stream = File.OpenWrite(big))
        {
            stream.SetLength(SafeFile.DefaultMaxBytes);
        }

        Assert.Equal(SafeFile.DefaultMaxBytes, Within(() => SafeFile.ReadAllBytes(big, SafeFile.DefaultMaxBytes)).Length);
    }

    [Fact]
    public void A_link_to_a_regular_file_is_followed_only_when_asked()
    {
        var bait = Bait();
        var link = Path.Combine(_root, "NuGet.Config");
        File.CreateSymbolicLink(link, bait);
        Assert.Equal(Encoding.UTF8.GetBytes(BaitText), SafeFile.ReadAllBytes(link, 1024, followLinks: true));
        Refused(() => SafeFile.ReadAllBytes(link, 1024), link);

        // A dangling link is still a link, not a missing file.
        var dangling = Path.Combine(_root, "dangling.props");
        File.CreateSymbolicLink(dangling, Path.Combine(_root, "nowhere"));
        Refused(() => SafeFile.TryReadAllBytes(dangling, 1024), dangling);
    }
}
