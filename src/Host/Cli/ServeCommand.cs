using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using LeanProxy.Cdp;
using LeanProxy.Cdp.Launch;
using LeanProxy.Engine;
using LeanProxy.Listener;
using LeanProxy.Listener.Http;
using LeanProxy.Listener.Tcp;
using LeanProxy.Listener.Udp;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Cli;

/// <summary><c>leanproxy serve</c>: validate, start the engine, then the listeners; stop cleanly on SIGINT/SIGTERM.</summary>
public static class ServeCommand
{
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Checks the options and turns them into engine and listener settings; throws <see cref="UsageException"/>.</summary>
    public static (EngineOptions Engine, HttpListenerOptions Http, IPEndPoint[] Endpoints, LogLevel Level) Validate(ServeOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.App))
        {
            throw new UsageException("Missing APP: the entry module file or app folder to serve.");
        }

        var endpoints = options.Http.Select(value => EndpointParser.Parse("--http", value)).ToArray();
        var (tcp, udp) = ValidateRaw(options);
        if (endpoints.Length == 0 && tcp.Length == 0 && udp.Length == 0)
        {
            endpoints = [new IPEndPoint(IPAddress.Loopback, 8080)];
        }

        // Each kind of listener needs its handler: checked when the app loads (exit 2 naming the missing export).
        var required = new List<string>();
        if (endpoints.Length > 0)
        {
            required.Add("fetch");
        }

        if (tcp.Length > 0)
        {
            required.Add("connect");
        }

        if (udp.Length > 0)
        {
            required.Add("datagram");
        }

        if (options.Tabs is < 1 or > 256)
        {
            throw new UsageException($"--tabs {options.Tabs}: must be between 1 and 256.");
        }

        if (options.Timeout is { } timeout && (timeout <= 0 || double.IsNaN(timeout) || timeout > 86400))
        {
            throw new UsageException($"--timeout {timeout.ToString(CultureInfo.InvariantCulture)}: must be a number of seconds between 0 and 86400.");
        }

        if (options.MaxBody is < 0)
        {
            throw new UsageException($"--max-body {options.MaxBody}: must not be negative.");
        }

        if (options.MaxConnections is < 1)
        {
            throw new UsageException($"--max-connections {options.MaxConnections}: must be at least 1.");
        }

        if (options.Queue is < 1)
        {
            throw new UsageException($"--queue {options.Queue}: must be at least 1.");
        }

        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in options.Vars)
        {
            var equals = pair.IndexOf('=');
            if (equals <= 0)
            {
                throw new UsageException($"--var {pair}: expected KEY=VALUE.");
            }

            variables[pair[..equals]] = pair[(equals + 1)..];
        }

        Uri? browserUrl = null;
        if (options.BrowserUrl is not null
            && (!Uri.TryCreate(options.BrowserUrl, UriKind.Absolute, out browserUrl) || browserUrl.Scheme is not ("http" or "https" or "ws" or "wss")))
        {
            throw new UsageException($"--browser-url {options.BrowserUrl}: expected http://HOST:PORT or ws://HOST:PORT/devtools/browser/ID.");
        }

        if (browserUrl is not null && options.Chrome is not null)
        {
            throw new UsageException("--browser-url and --chrome exclude each other: attach to a browser or launch one.");
        }

        var level = LogLevel.Information;
        if (options.LogLevel is not null && !Enum.TryParse(options.LogLevel, ignoreCase: true, out level))
        {
            throw new UsageException($"--log-level {options.LogLevel}: expected trace, debug, information, warning or error.");
        }

        try
        {
            AppSource.Resolve(options.App);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }

        var engine = new EngineOptions
        {
            AppPath = options.App,
            Tabs = options.Tabs ?? Environment.ProcessorCount,
            RequestTimeout = TimeSpan.FromSeconds(options.Timeout ?? 30),
            Variables = variables,
            ChromePath = options.Chrome,
            BrowserUrl = browserUrl,
            QueueLimit = options.Queue ?? 4096,
            RequiredExports = required,
            WarmSpare = !options.NoSpare,
            ChromeArguments = [.. options.ChromeArgs],
        };
        var http = new HttpListenerOptions
        {
            MaxBodyBytes = options.MaxBody ?? 10 * 1024 * 1024,
            MaxConnections = options.MaxConnections ?? 10_000,
        };
        return (engine, http, endpoints, level);
    }

    /// <summary>The --tcp and --udp endpoints (empty when none); throws <see cref="UsageException"/> naming a bad one.</summary>
    public static (IPEndPoint[] Tcp, IPEndPoint[] Udp) ValidateRaw(ServeOptions options) =>
        (options.Tcp.Select(value => EndpointParser.Parse("--tcp", value)).ToArray(),
         options.Udp.Select(value => EndpointParser.Parse("--udp", value)).ToArray());

    /// <summary>Datagrams handled at the same time per UDP listener at most; more are dropped and counted.</summary>
    public const int UdpMaxInFlight = 1024;

    public static async Task<int> RunAsync(ServeOptions options, TextWriter stdout, TextWriter stderr)
    {
        var (engineOptions, httpOptions, endpoints, level) = Validate(options);
        var (tcpEndpoints, udpEndpoints) = ValidateRaw(options);
        using var loggerFactory = HostLogging.Create(level);
        var logger = loggerFactory.CreateLogger("LeanProxy");

        using var stop = new CancellationTokenSource();
        var signal = "signal";
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);

        ProxyEngine? engine = null;
        var listeners = new List<(SocketListener Listener, string Scheme)>();
        var datagramListeners = new List<UdpListener>();
        try
        {
            engine = await ProxyEngine.StartAsync(engineOptions, loggerFactory, stop.Token).ConfigureAwait(false);

            var driver = new HttpDriver(engine, httpOptions, loggerFactory.CreateLogger("LeanProxy.Http"));
            var tcpDriver = new TcpDriver(engine, loggerFactory.CreateLogger("LeanProxy.Tcp"));
            var udpDriver = new UdpDriver(engine);
            var listenerLogger = loggerFactory.CreateLogger("LeanProxy.Listener");
            IPEndPoint? current = null;
            var flag = "--http";
            try
            {
                foreach (var endpoint in endpoints)
                {
                    current = endpoint;
                    listeners.Add((SocketListener.Bind(endpoint, driver, httpOptions.MaxConnections, listenerLogger), "http"));
                }

                flag = "--tcp";
                foreach (var endpoint in tcpEndpoints)
                {
                    current = endpoint;
                    listeners.Add((SocketListener.Bind(endpoint, tcpDriver, httpOptions.MaxConnections, listenerLogger), "tcp"));
                }

                flag = "--udp";
                foreach (var endpoint in udpEndpoints)
                {
                    current = endpoint;
                    datagramListeners.Add(UdpListener.Bind(endpoint, udpDriver, UdpMaxInFlight, listenerLogger));
                }
            }
            catch (SocketException ex)
            {
                await stderr.WriteLineAsync($"error: {flag} {EndpointParser.Format(current!)}: {Describe(ex)}").ConfigureAwait(false);
                return 1;
            }

            foreach (var (listener, scheme) in listeners)
            {
                listener.Start();
                await stdout.WriteLineAsync($"listening {scheme}://{EndpointParser.Format(listener.EndPoint)}").ConfigureAwait(false);
            }

            foreach (var listener in datagramListeners)
            {
                listener.Start();
                await stdout.WriteLineAsync($"listening udp://{EndpointParser.Format(listener.EndPoint)}").ConfigureAwait(false);
            }

            await stdout.FlushAsync().ConfigureAwait(false);

            var failed = engine.Failed;
            var stopped = Task.Delay(Timeout.Infinite, stop.Token);
            var first = await Task.WhenAny(failed, stopped).ConfigureAwait(ConfigureAwaitOptions.None);
            if (first == failed)
            {
                HostLog.BrowserLost(logger, failed.Result);
                return 1;
            }

            HostLog.Stopping(logger, signal);
            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
        catch (AppLoadException ex)
        {
            await stderr.WriteLineAsync($"error: the app failed to load: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (MissingExportException ex)
        {
            await stderr.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
        catch (Exception ex) when (ex is ChromeNotFoundException or ChromeLaunchException or CdpClosedException or HttpRequestException or System.Net.WebSockets.WebSocketException)
        {
            await stderr.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        finally
        {
            // Stop accepting, finish what is in flight, then close the tabs and Chromium (profile deleted).
            await Task.WhenAll(listeners.Select(l => l.Listener.StopAsync(DrainTimeout)).Concat(datagramListeners.Select(l => l.StopAsync(DrainTimeout)))).ConfigureAwait(false);
            if (engine is not null)
            {
                await engine.StopAsync(DrainTimeout).ConfigureAwait(false);
            }

            foreach (var (listener, _) in listeners)
            {
                await listener.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var listener in datagramListeners)
            {
                await listener.DisposeAsync().ConfigureAwait(false);
            }

            HostLog.Stopped(logger);
        }

        void Handle(PosixSignalContext context)
        {
            context.Cancel = true;
            signal = context.Signal.ToString();
            stop.Cancel();
        }
    }

    private static string Describe(SocketException ex) => ex.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => "the address is already in use.",
        SocketError.AddressNotAvailable => "the address is not available on this machine.",
        SocketError.AccessDenied => "permission denied (ports below 1024 need privileges).",
        _ => ex.Message,
    };
}
