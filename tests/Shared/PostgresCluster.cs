using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LeanProxy.Tests.Shared;

/// <summary>
/// A throwaway PostgreSQL cluster for tests: <c>initdb</c> in a temporary directory, started on a free loopback port
/// (as the <c>postgres</c> user when the tests run as root), stopped and deleted on dispose. Never a system cluster.
/// Debian's <c>postgresql</c> package provides the binaries (<c>./build.sh test</c> installs it when missing).
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _root;
    private readonly string _data;
    private readonly bool _asPostgres;

    private PostgresCluster(string bin, string root, int port, bool asPostgres)
    {
        _bin = bin;
        _root = root;
        _data = Path.Combine(root, "data");
        Port = port;
        _asPostgres = asPostgres;
    }

    public int Port { get; }

    public string Uri(string database = "postgres") => $"postgres://postgres:secret-pw@127.0.0.1:{Port}/{database}";

    public bool IsRunning { get; private set; }

    public static async Task<PostgresCluster> StartAsync(CancellationToken cancellationToken = default)
    {
        var bin = FindBin() ?? throw new InvalidOperationException("PostgreSQL's initdb was not found (install Debian's postgresql package; ./build.sh test does when it runs as root).");
        var root = Path.Combine(Path.GetTempPath(), "lp-pg-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(root);
        var asPostgres = Environment.UserName == "root";
        var cluster = new PostgresCluster(bin, root, FreePort(), asPostgres);
        try
        {
            if (asPostgres)
            {
                await RunAsync("chown", ["postgres:postgres", root], cancellationToken);
            }

            var pwfile = Path.Combine(root, "pw");
            await File.WriteAllTextAsync(pwfile, "secret-pw\n", cancellationToken);
            if (asPostgres)
            {
                await RunAsync("chown", ["postgres:postgres", pwfile], cancellationToken);
            }

            await cluster.PgAsync("initdb", ["-D", cluster._data, "-U", "postgres", "-A", "scram-sha-256", "--pwfile", pwfile, "-E", "UTF8", "--no-sync"], cancellationToken);
            await cluster.StartServerAsync(cancellationToken);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the server (again, after <see cref="StopServerAsync"/>) on the same port.</summary>
    public async Task StartServerAsync(CancellationToken cancellationToken = default)
    {
        var options = $"-p {Port} -k {_root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200";
        await PgAsync("pg_ctl", ["-D", _data, "-o", options, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "60", "start"], cancellationToken);
        IsRunning = true;
    }

    /// <summary>Stops the server immediately (clients see their connections drop), keeping the data.</summary>
    public async Task StopServerAsync(CancellationToken cancellationToken = default)
    {
        await PgAsync("pg_ctl", ["-D", _data, "-m", "immediate", "-w", "stop"], cancellationToken);
        IsRunning = false;
    }

    private Task PgAsync(string tool, string[] args, CancellationToken cancellationToken) =>
        _asPostgres
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. args], cancellationToken)
            : RunAsync(Path.Combine(_bin, tool), args, cancellationToken);

    private static async Task RunAsync(string file, string[] args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/tmp" };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await error}{await output}");
        }
    }

    private static string? FindBin()
    {
        var root = "/usr/lib/postgresql";
        if (!Directory.Exists(root))
        {
            return null;
        }

        return Directory.GetDirectories(root)
            .Select(d => Path.Combine(d, "bin"))
            .Where(d => File.Exists(Path.Combine(d, "initdb")))
            .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
            .FirstOrDefault();
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (IsRunning)
            {
                await StopServerAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // Best effort: the directory goes anyway.
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
