namespace LeanProxy.Cdp.Launch;

/// <summary>Finds a Chromium binary: an explicit path, <c>$CHROME_PATH</c>, well-known names on PATH, then install paths.</summary>
public static class ChromeLocator
{
    private static readonly string[] PathNames = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

    private static readonly string[] InstallPaths =
    [
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
    public static string Locate(string? explicitPath)
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

        var fromEnvironment = Environment.GetEnvironmentVariable("CHROME_PATH");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            if (File.Exists(fromEnvironment))
            {
                return fromEnvironment;
            }

            looked.Add($"$CHROME_PATH={fromEnvironment} (missing)");
        }

        var pathDirectories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
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
            + "Install it (Debian/Ubuntu: sudo apt-get install chromium), or pass --chrome PATH, or set CHROME_PATH.");
    }
    /// <summary>
    /// Debian's <c>/usr/bin/chromium</c> is a shell script that checks the CPU, cleans old crash reports, sources
    /// <c>/etc/chromium.d</c> and adds desktop flags before it runs <c>/usr/lib/chromium/chromium</c> — ~20 ms of every
    /// start for nothing a headless server needs. Found on PATH or in the install paths (not given with --chrome or
    /// $CHROME_PATH), the binary it runs is started directly.
    /// </summary>
    internal static string PastWrapper(string candidate)
    {
        const string Debian = "/usr/lib/chromium/chromium";
        try
        {
            if (Path.GetFileName(candidate) != "chromium" || !File.Exists(Debian) || new FileInfo(candidate).Length > 64 * 1024)
            {
                return candidate;
            }

            var text = File.ReadAllText(candidate);
            return text.StartsWith("#!", StringComparison.Ordinal) && text.Contains("LIBDIR=/usr/lib/$APPNAME", StringComparison.Ordinal) ? Debian : candidate;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return candidate;
        }
    }
}

public sealed class ChromeNotFoundException(string message) : Exception(message);
