#!/usr/bin/env pwsh
# LeanProxy build script for PowerShell: the same verbs as build.sh (run [APP] [-- serve options], test, publish, bench).
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'

function Step([string]$Text) { Write-Host "`n==> $Text" }
function Invoke-Step([string]$Command, [string[]]$Arguments) {
  Step "$Command $($Arguments -join ' ')"
  & $Command @Arguments
  if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

function Confirm-Chromium {
  if ($env:CHROME_PATH) {
    if (Test-Path $env:CHROME_PATH) { Step "Chromium: `$CHROME_PATH=$($env:CHROME_PATH)"; return }
    Write-Error "CHROME_PATH=$($env:CHROME_PATH) does not exist"; exit 1
  }
  # The headless shell first (a third less memory, half the start-up: docs/PERFORMANCE.md, "The headless shell").
  foreach ($name in 'chromium-headless-shell', 'chrome-headless-shell') {
    $found = Get-Command $name -ErrorAction SilentlyContinue
    if ($found) { Step "Chromium: $($found.Source) (the headless shell)"; return }
  }
  $isRoot = $IsLinux -and ((& id -u) -eq '0')
  if ($isRoot -and (Get-Command apt-get -ErrorAction SilentlyContinue)) {
    Invoke-Step 'apt-get' @('update', '-qq')
    $env:DEBIAN_FRONTEND = 'noninteractive'
    Invoke-Step 'apt-get' @('install', '-y', '-qq', 'chromium-headless-shell')
    return
  }
  foreach ($name in 'chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable') {
    $found = Get-Command $name -ErrorAction SilentlyContinue
    if ($found) { Step "Chromium: $($found.Source)"; return }
  }
  Write-Host "error: Chromium was not found.`n  Install it, e.g. on Debian:  sudo apt-get install chromium-headless-shell   (or chromium)`n  or point LeanProxy at one:   `$env:CHROME_PATH = '/path/to/chrome'"
  exit 1
}

function Confirm-Postgres {
  $initdb = Get-ChildItem -Path '/usr/lib/postgresql/*/bin/initdb' -ErrorAction SilentlyContinue | Select-Object -Last 1
  if ($initdb) { Step "PostgreSQL: $($initdb.FullName)"; return }
  $isRoot = $IsLinux -and ((& id -u) -eq '0')
  if ($isRoot -and (Get-Command apt-get -ErrorAction SilentlyContinue)) {
    Invoke-Step 'apt-get' @('update', '-qq')
    $env:DEBIAN_FRONTEND = 'noninteractive'
    Invoke-Step 'apt-get' @('install', '-y', '-qq', 'postgresql')
    return
  }
  Write-Host "error: PostgreSQL (initdb) was not found; the store tests start their own throwaway cluster with it.`n  Install it, e.g. on Debian/Ubuntu:  sudo apt-get install postgresql"
  exit 1
}

function Confirm-Packages([string]$App) {
  if (-not ((Test-Path $App -PathType Container) -and (Test-Path (Join-Path $App 'package.json')) -and -not (Test-Path (Join-Path $App 'node_modules')))) { return }
  if (-not (Get-Command npm -ErrorAction SilentlyContinue)) { Write-Host "error: $App needs its npm packages and npm was not found"; exit 1 }
  if (Test-Path (Join-Path $App 'package-lock.json')) { Invoke-Step 'npm' @('ci', '--prefix', $App, '--no-audit', '--no-fund') }
  else { Invoke-Step 'npm' @('install', '--prefix', $App, '--no-audit', '--no-fund') }
}

$verb = if ($args.Count -gt 0) { $args[0] } else { '' }
$rest = if ($args.Count -gt 1) { $args[1..($args.Count - 1)] } else { @() }
switch ($verb) {
  'run' {
    $app = 'examples/hello'
    if ($rest.Count -gt 0 -and $rest[0] -ne '--') { $app = $rest[0]; $rest = if ($rest.Count -gt 1) { $rest[1..($rest.Count - 1)] } else { @() } }
    if ($rest.Count -gt 0 -and $rest[0] -eq '--') { $rest = if ($rest.Count -gt 1) { $rest[1..($rest.Count - 1)] } else { @() } }
    Confirm-Chromium
    Confirm-Packages $app
    Invoke-Step 'dotnet' @('build', 'src/Host/LeanProxy.Host.csproj', '-c', 'Release', '-v', 'quiet', '-nologo')
    Step "leanproxy serve $app $($rest -join ' ')"
    & dotnet src/Host/bin/Release/net10.0/leanproxy.dll serve $app @rest
    exit $LASTEXITCODE
  }
  'test' {
    Confirm-Chromium
    Confirm-Postgres
    Invoke-Step 'dotnet' @('build', 'LeanProxy.sln', '-c', 'Release', '-v', 'quiet', '-nologo')
    # The integration tests run the binary that ships (single-file, self-contained, trimmed), not the build's dll.
    Invoke-Step 'dotnet' @('publish', 'src/Host/LeanProxy.Host.csproj', '-c', 'Release', '-o', 'out', '-v', 'quiet', '-nologo')
    $binary = Join-Path $PWD 'out/leanproxy'
    if ($IsWindows) { $binary += '.exe' }
    $env:LEANPROXY_TEST_BINARY = $binary
    # Anything after `test` goes to dotnet test, e.g. --filter "TestCategory!=Soak&TestCategory!=Registry".
    Invoke-Step 'dotnet' (@('test', 'LeanProxy.sln', '-c', 'Release', '--no-build', '-v', 'quiet', '-nologo', '--logger', 'console;verbosity=normal') + $rest)
  }
  'publish' {
    Invoke-Step 'dotnet' @('publish', 'src/Host/LeanProxy.Host.csproj', '-c', 'Release', '-o', 'out', '-nologo')
  }
  'bench' {
    Invoke-Step 'dotnet' (@('run', '-c', 'Release', '--project', 'bench/LeanProxy.Benchmarks', '--') + $rest)
  }
  default {
    Write-Host "usage: ./build.ps1 run [APP] [-- serve options] | test | publish | bench [args]"
    exit 2
  }
}
