using System.Runtime.InteropServices;
using LeanProxy.Cdp;
using LeanProxy.Cdp.Launch;
using LeanProxy.Engine.Apps;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Hosting;

/// <summary>
/// Runs a server until SIGINT/SIGTERM or until it fails: binds it (ports first: a port in use fails at once), starts
/// it, prints its "listening" lines, waits, then stops it (requests in flight finish). The exit code: 0 after a signal,
/// 1 for a failure (its message on stderr), 2 for an app that lacks an export its listeners need.
/// </summary>
internal static class ServerRunner
{
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    public static async Task<int> RunAsync(Func<Task<IServer>> bind, ILogger logger, TextWriter stdout, TextWriter stderr)
    {
        using var stop = new CancellationTokenSource();
        var signal = "signal";
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);

        IServer server;
        try
        {
            server = await bind().ConfigureAwait(false);
        }
        catch (ListenerBindException ex)
        {
            await stderr.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        try
        {
            await server.StartAsync(stop.Token).ConfigureAwait(false);
            foreach (var endpoint in server.Endpoints)
            {
                await stdout.WriteLineAsync($"listening {endpoint}").ConfigureAwait(false);
            }

            await stdout.FlushAsync().ConfigureAwait(false);
            var failed = server.Failed;
            var stopped = Task.Delay(Timeout.Infinite, stop.Token);
            if (await Task.WhenAny(failed, stopped).ConfigureAwait(ConfigureAwaitOptions.None) == failed)
            {
                HostLog.BrowserLost(logger, await failed.ConfigureAwait(false));
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
        catch (ArgumentException ex)
        {
            await stderr.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
        catch (Exception ex) when (ex
            is StoreStartException or ChromeNotFoundException or ChromeLaunchException or CdpClosedException or HttpRequestException
                or System.Net.WebSockets.WebSocketException)
        {
            await stderr.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        finally
        {
            await server.StopAsync(DrainTimeout).ConfigureAwait(false);
            HostLog.Stopped(logger);
        }

        void Handle(PosixSignalContext context)
        {
            context.Cancel = true;
            signal = context.Signal.ToString();
            stop.Cancel();
        }
    }
}
