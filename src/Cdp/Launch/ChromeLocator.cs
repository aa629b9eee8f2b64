namespace LeanProxy.Cdp.Launch;

/// <summary>
/// Finds a Chromium binary: an explicit path, <c>$CHROME_PATH</c>, well-known names on PATH, then install paths. The
/// headless shell (Chromium's build for servers and automation, Debian's <c>chromium-headless-shell</c>, Google's
/// <c>chrome-headless-shell</c>) comes first: the same Blink and V8 without the desktop browser, it needs about a third
/// less memory for the whole tree and starts in about half the time (docs/PERFORMANCE.md, "The headless shell").
/// </summary>
public static class ChromeLocator
{
    private static readonly string[] PathNames = ["chromium-headless-shell", "chrome-headless-shell", "chromium", "chromium-browser", "google-chrome",
        "google-chrome-stable"];

    private static readonly string[] InstallPaths =
    [
        "/usr/lib/chromium/chromium-headless-shell",
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/lib/chromium/chromium",
        "/snap/bin/chromium",
        "/usr/bin/google-chrome",
        "/usr/bin/google-chrome-stable",
        "/opt/google/chrome/chrome",
        "/Applications/Chromium.app/Contents/MacOS/Chromium",
        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    ];

    /// <summary>Returns the binary, or throws <see cref="ChromeNotFoundException"/> saying where it looked and how to install one.</summary>
    public static string Locate(string? explicitPath) => Locate(explicitPath, Environment.GetEnvironmentVariable);

    internal static string Locate(string? explicitPath, Func<string, string?> environment)
    {
        var looked = new List<string>();
        if (!string.IsNullOrEmpty(explicitPath))
        {
            if (File.Exists(explicitPath))
            {
                return Path.GetFullPath(explicitPath);
            }

            throw new ChromeNotFoundException($"--chrome {explicitPath}: no such file.");
        }

        var fromEnvironment = environment("CHROME_PATH");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            if (File.Exists(fromEnvironment))
            {
                return fromEnvironment;
            }

            looked.Add($"$CHROME_PATH={fromEnvironment} (missing)");
        }

        var pathDirectories = (environment("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var name in PathNames)
        {
            foreach (var directory in pathDirectories)
            {
                var candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    return PastWrapper(candidate);
                }
            }
        }

        looked.Add($"PATH ({string.Join(", ", PathNames)})");
        foreach (var candidate in InstallPaths)
        {
            if (File.Exists(candidate))
            {
                return PastWrapper(candidate);
            }
        }

        looked.AddRange(InstallPaths);
        throw new ChromeNotFoundException(
            "Chromium was not found. Looked in: " + string.Join("; ", looked) + ". "
            + "Install it (Debian: sudo apt-get install chromium-headless-shell, or chromium), or pass --chrome PATH, or set CHROME_PATH.");
    }
    /// <summary>
    /// Debian's <c>/usr/bin/chromium</c> and <c>/usr/bin/chromium-headless-shell</c> are shell scripts around the binaries
    /// in <c>/usr/lib/chromium</c>. The first checks the CPU, cleans old crash reports, sources <c>/etc/chromium.d</c> and
    /// adds desktop flags (~20 ms of every start for nothing a headless server needs); the second does not even
    /// <c>exec</c>, so the shell would stay between LeanProxy and Chromium's process. Found on PATH or in the install
    /// paths (not given with --chrome or $CHROME_PATH), the binary a script runs is started directly.
    /// </summary>
    internal static string PastWrapper(string candidate, string directory = "/usr/lib/chromium")
    {
        try
        {
            var name = Path.GetFileName(candidate);
            var binary = Path.Combine(directory, name);
            if (name is not ("chromium" or "chromium-headless-shell") || candidate == binary || !File.Exists(binary)
                || new FileInfo(candidate).Length > 64 * 1024)
            {
                return candidate;
            }

            var text = File.ReadAllText(candidate);
            var runsIt = name == "chromium" ? text.Contains("LIBDIR=/usr/lib/$APPNAME", StringComparison.Ordinal) : text.Contains(binary,
                StringComparison.Ordinal);
            return text.StartsWith("#!", StringComparison.Ordinal) && runsIt ? binary : candidate;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return candidate;
        }
    }
}

public sealed class ChromeNotFoundException(string message) : Exception(message);
