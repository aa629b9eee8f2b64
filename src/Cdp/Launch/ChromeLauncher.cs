using System.Diagnostics;
using LeanProxy.Cdp.Protocol;
using LeanProxy.Cdp.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeanProxy.Cdp.Launch;

/// <summary>
/// Starts Chromium with a fresh temporary profile, talking CDP over <c>--remote-debugging-pipe</c>.
/// </summary>
/// <remarks>
/// Chromium reads commands from fd 3 and writes replies to fd 4. .NET's <see cref="Process"/> cannot hand
/// arbitrary descriptors to a child (every descriptor it opens is close-on-exec, and there is no file-actions API),
/// so the launcher makes two named pipes (fifos) in the private temporary directory and starts Chromium through
/// <c>/bin/sh -c 'exec "$0" "$@" 3&lt;in 4&gt;out'</c>: the shell opens the fifos as fds 3 and 4 and replaces
/// itself with Chromium, so Chromium is our direct child. We open the other ends. Because we hold the only
/// writer of fd 3, Chromium sees end-of-file and exits as soon as this process dies, even by SIGKILL.
/// </remarks>
public static class ChromeLauncher
{
    private const string ProfilePrefix = "leanproxy-";

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2000",
        Justification = "The transport, the connection and the browser each own the one before; the catch disposes the browser.")]
    public static async Task<ChromeBrowser> LaunchAsync(ChromeLaunchOptions options, ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            throw new PlatformNotSupportedException("The pipe launcher needs a POSIX system (fifos and /bin/sh).");
        }

        loggerFactory ??= NullLoggerFactory.Instance;
        var logger = loggerFactory.CreateLogger("LeanProxy.Chromium");
        var executable = ChromeLocator.Locate(options.ExecutablePath);
        var tempRoot = options.TempDirectory ?? Path.GetTempPath();
        var directory = Path.Combine(tempRoot, ProfilePrefix + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

#pragma warning disable CA1849 // a few bytes on the starting thread, which runs the launch up to its first wait (start-up)
        File.WriteAllText(Path.Combine(directory, "owner.pid"), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
#pragma warning restore CA1849
        var inPath = Path.Combine(directory, "cdp-in");
        var outPath = Path.Combine(directory, "cdp-out");
        var profile = Path.Combine(directory, "profile");
        if (NativeMethods.MkFifo(inPath, 0x180) != 0 || NativeMethods.MkFifo(outPath, 0x180) != 0)
        {
            var error = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            TryDelete(directory, logger);
            throw new IOException($"mkfifo failed in {directory} (errno {error})");
        }

        var arguments = ChromeLaunchOptions.LeanSwitches.Select(s => WithExtraValues(s, options.ExtraArguments)).ToList();
        if (NativeMethods.IsRoot)
        {
            arguments.Add("--no-sandbox");
            CdpLog.NoSandbox(logger);
        }

        arguments.Add("--remote-debugging-pipe");
        arguments.Add("--user-data-dir=" + profile);
        arguments.AddRange(options.ExtraArguments.Where(a => ListSwitchOf(a) is null));

        var startInfo = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("-c");
        // In a session of its own (setsid, which keeps the PID: the shell is not a group leader), so that a terminal's
        // Ctrl-C, which goes to the whole foreground process group, reaches LeanProxy alone: it then closes Chromium in
        // order, instead of finding it gone mid-stop. Chromium still dies with LeanProxy: it exits when its pipe closes.
        startInfo.ArgumentList.Add(
            "if command -v setsid >/dev/null 2>&1; then exec setsid \"$0\" \"$@\" 3<\"$LEANPROXY_CDP_IN\" 4>\"$LEANPROXY_CDP_OUT\"; fi; " +
            "exec \"$0\" \"$@\" 3<\"$LEANPROXY_CDP_IN\" 4>\"$LEANPROXY_CDP_OUT\"");
        startInfo.ArgumentList.Add(executable);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["LEANPROXY_CDP_IN"] = inPath;
        startInfo.Environment["LEANPROXY_CDP_OUT"] = outPath;

        CdpLog.Launching(logger, executable, string.Join(' ', arguments));
        var stopwatch = Stopwatch.StartNew();
        var stderr = new OutputTail();
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                stderr.Add(e.Data);
                CdpLog.ChromeOutput(logger, e.Data);
            }
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                CdpLog.ChromeOutput(logger, e.Data);
            }
        };

        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException)
        {
            TryDelete(directory, logger);
            throw new ChromeLaunchException($"Could not start {executable}: {ex.Message}", ex);
        }

        process.StandardInput.Close();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();

        // Profiles of LeanProxy processes that were killed are cleaned up while Chromium starts, not before: a temporary
        // folder with many entries takes milliseconds to walk, and exec → first response is a performance target.
        RemoveStaleProfiles(tempRoot);
        ChromeBrowser? browser = null;
        try
        {
            var (toBrowser, fromBrowser) = await OpenFifosAsync(process, inPath, outPath, options.StartTimeout, stderr).ConfigureAwait(false);
            var transport = new StreamPipeTransport(toBrowser, fromBrowser);
            var connection = new CdpConnection(transport, loggerFactory.CreateLogger("LeanProxy.Cdp"));
            browser = new ChromeBrowser(connection, process, directory, stderr, loggerFactory.CreateLogger("LeanProxy.Chromium"));
            connection.Start();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.StartTimeout);
            BrowserVersion version;
            try
            {
                version = await connection.SendAsync(CdpMethods.BrowserGetVersion, CdpJsonContext.Default.BrowserVersion,
                    cancellationToken: timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is CdpClosedException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Let the process finish and its stderr drain, so that the message carries its last words.
                await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(2),
                    CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                var why = ex is OperationCanceledException ? "no answer within " + options.StartTimeout.TotalSeconds + " s" : "it exited";
                throw new ChromeLaunchException($"Chromium ({executable}) did not start: {why}.{stderr.Describe()}", ex);
            }

            browser.Version = version;
            CdpLog.Started(logger, version.Product, process.Id, executable, stopwatch.ElapsedMilliseconds);
            return browser;
        }
        catch
        {
            if (browser is not null)
            {
                await browser.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                ChromeBrowser.KillTree(process);
                process.Dispose();
                TryDelete(directory, logger);
            }

            throw;
        }
    }

    /// <summary>
    /// Switches that hold a list and that Chromium reads once (the last one given wins): one among the extra switches adds
    /// to LeanProxy's list instead of replacing it — V8's flags, the features turned off.
    /// </summary>
    private static readonly (string Prefix, char Separator)[] ListSwitches = [(ChromeLaunchOptions.JsFlagsSwitch, ' '), ("--disable-features=", ',')];

    private static (string Prefix, char Separator)? ListSwitchOf(string argument)
    {
        foreach (var list in ListSwitches)
        {
            if (argument.StartsWith(list.Prefix, StringComparison.Ordinal))
            {
                return list;
            }
        }

        return null;
    }

    /// <summary>A lean switch, with the values of the same list switch among <paramref name="extra"/> appended.</summary>
    private static string WithExtraValues(string lean, IEnumerable<string> extra) => ListSwitchOf(lean) is var (prefix, separator)
        ? string.Join(separator,
            [lean, .. extra.Where(a => a.StartsWith(prefix, StringComparison.Ordinal) && a.Length > prefix.Length).Select(a => a[prefix.Length..])])
        : lean;

    /// <summary>Opens our ends of the fifos; each open blocks until Chromium's shell opens the other end.</summary>
    private static async Task<(Stream ToBrowser, Stream FromBrowser)> OpenFifosAsync(Process process, string inPath, string outPath, TimeSpan timeout,
        OutputTail stderr)
    {
        var toBrowser = Task.Factory.StartNew(() => (Stream)new FileStream(inPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0),
            TaskCreationOptions.LongRunning);
        var fromBrowser = Task.Factory.StartNew(() => (Stream)new FileStream(outPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0),
            TaskCreationOptions.LongRunning);
        var both = Task.WhenAll(toBrowser, fromBrowser);
        var exited = process.WaitForExitAsync();
        var finished = await Task.WhenAny(both, exited, Task.Delay(timeout)).ConfigureAwait(false);
        if (finished == both)
        {
            return (await toBrowser.ConfigureAwait(false), await fromBrowser.ConfigureAwait(false));
        }

        // Unblock whichever open still waits by opening its other end ourselves, then give up.
        using (var unblockIn = new FileStream(inPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0, FileOptions.None))
        using (var unblockOut = new FileStream(outPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0, FileOptions.None))
        {
            await ((Task)both).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        foreach (var opened in new[] { toBrowser, fromBrowser })
        {
            if (opened.IsCompletedSuccessfully)
            {
                await (await opened.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
            }
        }

        var why = finished == exited ? $"it exited with code {process.ExitCode}" : $"it did not open its pipe within {timeout.TotalSeconds} s";
        throw new ChromeLaunchException($"Chromium did not start: {why}.{stderr.Describe()}");
    }

    /// <summary>Deletes temporary directories left by a LeanProxy process that no longer runs (killed with SIGKILL).</summary>
    private static void RemoveStaleProfiles(string tempRoot)
    {
        try
        {
            foreach (var directory in Directory.EnumerateDirectories(tempRoot, ProfilePrefix + "*"))
            {
                var ownerFile = Path.Combine(directory, "owner.pid");
                if (!File.Exists(ownerFile) || !int.TryParse(File.ReadAllText(ownerFile), out var pid))
                {
                    continue;
                }

                if (!Directory.Exists("/proc/" + pid))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: another process may be cleaning up the same directory.
        }
    }

    internal static void TryDelete(string directory, ILogger logger)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }

                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                if (attempt == 4)
                {
                    CdpLog.ProfileNotDeleted(logger, directory, ex);
                }

                Thread.Sleep(50);
            }
        }
    }
}

public sealed class ChromeLaunchException(string message, Exception? inner = null) : Exception(message, inner);
