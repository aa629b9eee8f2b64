using CommandLine;
using LeanProxy.Host.Cli;

namespace LeanProxy.Host;

/// <summary>The <c>leanproxy</c> command. Exit codes: 0 ok, 1 runtime failure (app, browser, port), 2 bad usage.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Socket completions run inline on the epoll threads instead of hopping to the thread pool: the listener's
        // continuations are short and never block (measured: ~25 % less CPU per request on the raw listener).
        // Read once, when the socket engine starts, so it must be set before any socket is created.
        if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
        {
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        }

        return await RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
    }

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        using var parser = new Parser(settings =>
        {
            settings.AllowMultiInstance = true;
            settings.CaseSensitive = true;
            settings.HelpWriter = null;
            settings.AutoHelp = true;
            settings.AutoVersion = true;
        });
        var result = parser.ParseArguments(args, typeof(ServeOptions), typeof(Bench.BenchOptions), typeof(DeployOptions), typeof(AppsOptions),
            typeof(KvOptions), typeof(TailOptions));
        if (result is Parsed<object> { Value: var command })
        {
            try
            {
                return command switch
                {
                    ServeOptions serve => await ServeCommand.RunAsync(serve, stdout, stderr).ConfigureAwait(false),
                    Bench.BenchOptions bench => await Bench.BenchCommand.RunAsync(bench, stdout, stderr).ConfigureAwait(false),
                    DeployOptions deploy => await AdminCommands.DeployAsync(deploy, stdout, stderr).ConfigureAwait(false),
                    AppsOptions apps => await AdminCommands.AppsAsync(apps, stdout, stderr).ConfigureAwait(false),
                    KvOptions kv => await AdminCommands.KvAsync(kv, stdout, stderr).ConfigureAwait(false),
                    TailOptions tail => await TailAsync(tail, stdout, stderr).ConfigureAwait(false),
                    _ => 2,
                };
            }
            catch (UsageException ex)
            {
                await stderr.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
                await stderr.WriteLineAsync("Run 'leanproxy --help' for usage.").ConfigureAwait(false);
                return 2;
            }
        }

        return await ReportAsync((NotParsed<object>)result, stdout, stderr).ConfigureAwait(false);
    }

    /// <summary>Until Ctrl-C (or SIGTERM), which ends it with code 0.</summary>
    private static async Task<int> TailAsync(TailOptions options, TextWriter stdout, TextWriter stderr)
    {
        using var stop = new CancellationTokenSource();
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        return await TailCommand.RunAsync(options, stdout, stderr, stop.Token).ConfigureAwait(false);
    }

    private static async Task<int> ReportAsync(NotParsed<object> result, TextWriter stdout, TextWriter stderr)
    {
        var errors = result.Errors.ToArray();
        if (errors.Any(e => e.Tag == ErrorType.VersionRequestedError))
        {
            await stdout.WriteLineAsync("leanproxy " + typeof(Program).Assembly.GetName().Version?.ToString(3)).ConfigureAwait(false);
            return 0;
        }

        var help = CommandLine.Text.HelpText.AutoBuild(result, h =>
        {
            h.Heading = "leanproxy " + typeof(Program).Assembly.GetName().Version?.ToString(3);
            h.Copyright = "Request handlers running inside headless Chromium.";
            h.AddDashesToOption = true;
            return h;
        }, e => e, verbsIndex: true);
        if (errors.Any(e => e.Tag is ErrorType.HelpRequestedError or ErrorType.HelpVerbRequestedError))
        {
            await stdout.WriteLineAsync(help.ToString()).ConfigureAwait(false);
            return 0;
        }

        foreach (var error in errors)
        {
            await stderr.WriteLineAsync("error: " + Describe(error)).ConfigureAwait(false);
        }

        await stderr.WriteLineAsync("Run 'leanproxy --help' for usage.").ConfigureAwait(false);
        return 2;
    }

    private static string Describe(Error error) => error switch
    {
        UnknownOptionError unknown => $"unknown option '{(unknown.Token.Length == 1 ? "-" : "--")}{unknown.Token}'.",
        MissingRequiredOptionError missing when missing.NameInfo.NameText is "" or "APP" => "missing APP: the entry module file or app folder to serve.",
        MissingRequiredOptionError missing when missing.NameInfo.NameText is "DIR" => "missing DIR: the app folder to deploy.",
        MissingRequiredOptionError missing when missing.NameInfo.NameText is "ACTION"
            => "missing ACTION: apps list, apps show NAME, apps rollback NAME --version N or apps delete NAME.",
        MissingRequiredOptionError missing => $"missing required {missing.NameInfo.NameText}.",
        MissingValueOptionError missing => $"option '--{missing.NameInfo.LongName}' needs a value.",
        BadFormatConversionError bad => $"option '--{bad.NameInfo.LongName}' has a value of the wrong type.",
        BadVerbSelectedError verb => $"unknown command '{verb.Token}' (commands: serve, bench, deploy, apps, kv).",
        NoVerbSelectedError => "no command given (commands: serve, bench, deploy, apps, kv).",
        RepeatedOptionError repeated => $"option '--{repeated.NameInfo.LongName}' given more than once.",
        _ => error.Tag.ToString(),
    };
}
