using BenchmarkDotNet.Running;

namespace LeanProxy.Benchmarks;

/// <summary>
/// Micro-benchmarks (BenchmarkDotNet, [MemoryDiagnoser]); run with ./build.sh bench [--filter *Name*].
/// <c>listener HOST:PORT</c> instead runs the raw listener with a trivial handler, for wrk; <c>platform …</c> measures node
/// mode through the real binary (see <see cref="PlatformBench"/>).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args is ["listener", var address])
        {
            // As in leanproxy itself: socket completions run inline on the epoll threads (no thread-pool hop).
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
            return await RawListener.RunAsync(address).ConfigureAwait(false);
        }

        if (args is ["platform", .. var rest])
        {
            return await PlatformBench.RunAsync(rest).ConfigureAwait(false);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args);
        return 0;
    }
}
