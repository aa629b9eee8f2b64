using BenchmarkDotNet.Running;

namespace LeanProxy.Benchmarks;

/// <summary>Micro-benchmarks (BenchmarkDotNet, [MemoryDiagnoser]); run with ./build.sh bench [--filter *Name*].</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args);
}
