using System.Diagnostics;
using System.Text;

namespace LeanProxy.Integration.Tests;

/// <summary>
/// The real <c>leanproxy</c> binary (the Host's build output, run with <c>dotnet leanproxy.dll</c>) started as a child
/// process with its own TMPDIR, so that its Chromium profile and processes can be checked after it stops.
/// </summary>
internal sealed class LeanProxyProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<Uri> _admin = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private LeanProxyProcess(Process process, string tempDirectory)
    {
        _process = process;
        TempDirectory = tempDirectory;
    }

    /// <summary>
    /// The published binary when <c>LEANPROXY_TEST_BINARY</c> names it (<c>./build.sh test</c> publishes it and runs every
    /// test against what ships: single-file, self-contained, trimmed); else the build's leanproxy.dll, run by dotnet.
    /// </summary>
    public static string? Published => Environment.GetEnvironmentVariable("LEANPROXY_TEST_BINARY") is { Length: > 0 } path ? Path.GetFullPath(path) : null;

    public static string Binary => Published ?? Path.Combine(AppContext.BaseDirectory, "leanproxy.dll");

    public static string AppPath(string name) => Path.Combine(AppContext.BaseDirectory, "apps", name);

    public static string ExamplePath(string name) => Path.Combine(AppContext.BaseDirectory, "examples", name);

    public int Pid => _process.Id;

    public string TempDirectory { get; }

    public Uri BaseUri => _listening.Task.Result;

    /// <summary>The admin listener's address ("listening admin http://…"), once it is listening.</summary>
    public Task<Uri> AdminUri => _admin.Task;

    /// <summary>The first public listener's address, once its "listening" line came.</summary>
    public Task<Uri> Listening => _listening.Task;

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public static LeanProxyProcess Start(params string[] args) => Start(null, args);

    /// <summary>Starts the binary with <paramref name="args"/> and, besides its own TMPDIR, <paramref name="environment"/>.</summary>
    public static LeanProxyProcess Start(IReadOnlyDictionary<string, string>? environment, params string[] args) => Start(environment, asNobody: false, args);

    /// <summary>Starts the binary as the unprivileged user nobody (through setpriv; the caller is root), its TMPDIR and HOME its own.</summary>
    public static LeanProxyProcess StartAsNobody(params string[] args) => Start(null, asNobody: true, args);

    private static LeanProxyProcess Start(IReadOnlyDictionary<string, string>? environment, bool asNobody, string[] args)
    {
        var temp = Path.Combine(Path.GetTempPath(), "lp-test-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(temp);
        var startInfo = new ProcessStartInfo(asNobody ? "setpriv" : Published ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (asNobody && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
            foreach (var arg in new[] { "--reuid=nobody", "--regid=nogroup", "--clear-groups", Published ?? "dotnet" })
            {
                startInfo.ArgumentList.Add(arg);
            }

            startInfo.Environment["HOME"] = temp;
            startInfo.Environment["DOTNET_CLI_HOME"] = temp;
        }

        if (Published is null)
        {
            startInfo.ArgumentList.Add(Binary);
        }

        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        startInfo.Environment["TMPDIR"] = temp;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[name] = value;
        }

        var process = new Process { StartInfo = startInfo };
        var host = new LeanProxyProcess(process, temp);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                host._listening.TrySetException(new InvalidOperationException("leanproxy closed stdout before listening.\n" + host.Stderr));
                return;
            }

            lock (host._stdout)
            {
                host._stdout.AppendLine(e.Data);
            }

            // The first public listener ("listening admin http://…" is the admin API's, not a base address).
            if (e.Data.StartsWith("listening ", StringComparison.Ordinal) && Uri.TryCreate(e.Data["listening ".Length..], UriKind.Absolute, out var uri))
            {
                host._listening.TrySetResult(uri);
            }
            else if (e.Data.StartsWith("listening admin ", StringComparison.Ordinal) && Uri.TryCreate(e.Data["listening admin ".Length..], UriKind.Absolute, out var admin))
            {
                host._admin.TrySetResult(admin);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (host._stderr)
                {
                    host._stderr.AppendLine(e.Data);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>Starts the binary serving APP on an ephemeral port and waits for its "listening" line.</summary>
    public static Task<LeanProxyProcess> ServeAsync(string app, CancellationToken cancellationToken, params string[] extra) =>
        ServeAsync(app, null, cancellationToken, extra);

    /// <summary>As <see cref="ServeAsync(string, CancellationToken, string[])"/>, with <paramref name="environment"/> added to the binary's.</summary>
    public static async Task<LeanProxyProcess> ServeAsync(string app, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken, params string[] extra)
    {
        var host = Start(environment, ["serve", app, "--http", "127.0.0.1:0", .. (extra.Contains("--tabs") ? Array.Empty<string>() : ["--tabs", "1"]), .. extra]);
        try
        {
            await host._listening.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return host;
    }

    /// <summary>Waits until stderr has had <paramref name="text"/> <paramref name="times"/> times (the test's own timeout bounds it).</summary>
    public async Task WaitForLogAsync(string text, CancellationToken cancellationToken, int times = 1)
    {
        while (CountOf(Stderr, text) < times)
        {
            await Task.Delay(20, cancellationToken);
        }
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>The value of one series of this host's <c>/metrics</c> (it runs with <c>--admin 127.0.0.1:0</c>); null while it has none.</summary>
    public async Task<double?> MetricAsync(string series, CancellationToken cancellationToken)
    {
        using var client = new HttpClient();
        var metrics = await client.GetStringAsync(new Uri(await AdminUri.WaitAsync(cancellationToken), "/metrics"), cancellationToken);
        return PrometheusText.Read(metrics, series);
    }

    /// <summary>Waits until <paramref name="series"/> of this host's <c>/metrics</c> is at least <paramref name="atLeast"/>.</summary>
    public async Task WaitForMetricAsync(string series, double atLeast, CancellationToken cancellationToken)
    {
        while ((await MetricAsync(series, cancellationToken) ?? 0) < atLeast)
        {
            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        _process.WaitForExit(); // flushes the redirected streams
        return _process.ExitCode;
    }

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Every process whose parent chain leads to this host (Chromium and its helpers).</summary>
    public IReadOnlyList<int> Descendants() => ProcessTree.Descendants(_process.Id);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Signal("TERM");
            try
            {
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        var pid = _process.Id;
        _process.Dispose();

        // What the host logged as failures goes to the test's output: a test that fails on CI then says why the host did.
        var failures = Stderr.Split('\n').Where(l => l.Contains(" fail: ", StringComparison.Ordinal) || l.Contains(" crit: ", StringComparison.Ordinal)).ToList();
        if (failures.Count > 0)
        {
            await TestContext.Out.WriteLineAsync($"leanproxy (pid {pid}) logged {failures.Count} failure(s), the last ones:\n" +
                string.Join('\n', failures.TakeLast(10)));
        }

        try
        {
            Directory.Delete(TempDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS temp cleaner; assertions about it are made by the tests that care.
        }
    }
}

/// <summary>Reads the process tree from /proc.</summary>
internal static class ProcessTree
{
    /// <summary>Every process below <paramref name="root"/> (the same /proc walk that <c>leanproxy bench</c> uses).</summary>
    public static IReadOnlyList<int> Descendants(int root) => LeanProxy.Host.Bench.ProcessStats.Tree(root).Skip(1).ToList();

    /// <summary>A process's command line, arguments separated by spaces; empty when it is gone.</summary>
    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (IOException)
        {
            return false;
        }
    }
}
