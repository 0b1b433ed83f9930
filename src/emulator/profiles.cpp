#include "emulator/profiles.hpp"

#include <array>

#include "protocol/text.hpp"

namespace zkpush::emulator {

namespace {

// Parameter sets follow the manual's registration example (4.4) and its parameter tables
// (Appendix 13 for AccSupportFunList, 3.1 for MultiBio*); values describe the class of hardware.
constexpr std::array<Profile, 4> kProfiles{{
    {"inbio460", "inBio-460-class 4-door access panel (fingerprint readers, Wiegand)", 4, 8, true,
     "DeviceType=acc,~DeviceName=inBio460,FirmVer=AC Ver 5.7.8.3033 Jan 10 2023,PushVersion=Ver 2.0.33S-20230110,"
     "CommType=ethernet,MaxPackageSize=2048000,LockCount=4,ReaderCount=8,AuxInCount=4,AuxOutCount=4,"
     "MachineType=3,~IsOnlyRFMachine=0,~MaxUserCount=30000,~MaxAttLogCount=100000,~MaxUserFingerCount=3000,"
     "MThreshold=60,IPAddress=${IP},NetMask=255.255.255.0,GATEIPAddress=${GW},~ZKFPVersion=10,IclockSvrFun=1,"
     "OverallAntiFunOn=1,~REXInputFunOn=1,~CardFormatFunOn=1,~SupAuthrizeFunOn=1,~ReaderCFGFunOn=1,"
     "~ReaderLinkageFunOn=1,~RelayStateFunOn=1,~Ext485ReaderFunOn=1,~TimeAPBFunOn=1,~CtlAllRelayFunOn=1,"
     "~LossCardFunOn=1,SimpleEventType=1,VerifyStyles=ff7f0000,"
     "EventTypes=BF0FE03D3000010000000000070000000000000000000000000077002001000000,DisableUserFunOn=1,"
     "DeleteAndFunOn=1,LogIDFunOn=1,DateFmtFunOn=1,DelAllLossCardFunOn=1,AutoClearDay=0,FirstDelayDay=0,"
     "DelayDay=0,StopAllVerify=0,FvFunOn=0,FaceFunOn=0,FingerFunOn=1,CameraOpen=0,"
     "AccSupportFunList=0101010000111000000111010100011010,AutoServerFunOn=1,DelayOpenDoorFunOn=1,"
     "UserOpenDoorDelayFunOn=1,MultiCardInterTimeFunOn=1,OutRelaySetFunOn=1,MachineTZFunOn=1,DSTFunOn=1,"
     "CardSiteCodeFunOn=1,MulCardUserFunOn=1,UserNameFunOn=1,StringPinFunOn=1,MaxLockCount=4,MaxZigbeeCount=0,"
     "MaxMCUCardBits=37,SupportReaderType=1,CmdFormat=0,SubcontractingUpgradeFunOn=1"},
    {"c3-100", "C3-100-class 1-door access panel (card readers)", 1, 2, true,
     "DeviceType=acc,~DeviceName=C3-100,FirmVer=AC Ver 5.4.3.2001 Apr 20 2022,PushVersion=Ver 2.0.30-20220420,"
     "CommType=ethernet,MaxPackageSize=1048576,LockCount=1,ReaderCount=2,AuxInCount=1,AuxOutCount=1,"
     "MachineType=1,~IsOnlyRFMachine=1,~MaxUserCount=30000,~MaxAttLogCount=100000,~MaxUserFingerCount=0,"
     "IPAddress=${IP},NetMask=255.255.255.0,GATEIPAddress=${GW},IclockSvrFun=1,OverallAntiFunOn=0,"
     "~REXInputFunOn=1,~CardFormatFunOn=1,~SupAuthrizeFunOn=0,~ReaderCFGFunOn=0,~ReaderLinkageFunOn=0,"
     "~RelayStateFunOn=1,~Ext485ReaderFunOn=0,~TimeAPBFunOn=0,~CtlAllRelayFunOn=0,~LossCardFunOn=1,"
     "SimpleEventType=1,VerifyStyles=00100000,"
     "EventTypes=BF0FE03D3000010000000000070000000000000000000000000077002001000000,DisableUserFunOn=1,"
     "DeleteAndFunOn=1,LogIDFunOn=1,DateFmtFunOn=1,DelAllLossCardFunOn=1,FvFunOn=0,FaceFunOn=0,FingerFunOn=0,"
     "CameraOpen=0,AccSupportFunList=0101010000111000000111010100011010,MachineTZFunOn=1,DSTFunOn=1,"
     "CardSiteCodeFunOn=1,MulCardUserFunOn=1,UserNameFunOn=1,StringPinFunOn=0,MaxLockCount=1,CmdFormat=0,"
     "SubcontractingUpgradeFunOn=0"},
    {"face", "visible-light face terminal (SpeedFace-class: face, palm, fingerprint, card)", 1, 1, false,
     "DeviceType=acc,~DeviceName=SpeedFace-V5L,FirmVer=ZAM180-NF-Ver1.0.12,PushVersion=Ver 2.0.40-20230301,"
     "CommType=ethernet,MaxPackageSize=2048000,LockCount=1,ReaderCount=1,AuxInCount=1,AuxOutCount=1,"
     "MachineType=101,~IsOnlyRFMachine=0,~MaxUserCount=10000,~MaxAttLogCount=200000,~MaxUserFingerCount=10,"
     "IPAddress=${IP},NetMask=255.255.255.0,GATEIPAddress=${GW},IclockSvrFun=1,OverallAntiFunOn=0,"
     "SimpleEventType=1,VerifyStyles=ff7f0000,"
     "EventTypes=BF0FE03D3000010000000000070000000000000000000000000077002001000000,DisableUserFunOn=1,"
     "DateFmtFunOn=1,FvFunOn=0,FaceFunOn=1,FingerFunOn=1,CameraOpen=1,"
     "AccSupportFunList=0101010000111000000111010100011010,UserNameFunOn=1,StringPinFunOn=1,MaxLockCount=1,"
     "MultiBioDataSupport=0:1:0:0:0:0:0:0:1:1,MultiBioPhotoSupport=0:0:0:0:0:0:0:0:0:1,"
     "MultiBioVersion=0:10:0:0:0:0:0:0:1:40,MaxMultiBioDataCount=0:10000:0:0:0:0:0:0:3000:10000,"
     "MaxMultiBioPhotoCount=0:0:0:0:0:0:0:0:0:10000,MultiBioDataCount=0:0:0:0:0:0:0:0:0:0,"
     "MultiBioPhotoCount=0:0:0:0:0:0:0:0:0:0,CmdFormat=0,SubcontractingUpgradeFunOn=1"},
    // A channel controller (7.13, 7.14, 9.5.3): the Appendix 20 parameters say it has an advertising
    // screen; its in/out counters go up as irstate.
    {"channel", "channel controller (a flap-barrier lane: irstate counters, advertising screen)", 1, 2, true,
     "DeviceType=acc,~DeviceName=Channel-Lane,FirmVer=AC Ver 5.7.8.3033 Jan 10 2023,PushVersion=Ver 2.0.33S-20230110,"
     "CommType=ethernet,MaxPackageSize=2048000,LockCount=1,ReaderCount=2,AuxInCount=1,AuxOutCount=1,"
     "~IsOnlyRFMachine=1,~MaxUserCount=30000,~MaxAttLogCount=100000,~MaxUserFingerCount=0,"
     "IPAddress=${IP},NetMask=255.255.255.0,GATEIPAddress=${GW},IclockSvrFun=1,SimpleEventType=1,"
     "VerifyStyles=00100000,EventTypes=BF0FE03D3000010000000000070000000000000000000000000077002001000000,"
     "FvFunOn=0,FaceFunOn=0,FingerFunOn=0,AccSupportFunList=0101010000111000000111010100011010,MaxLockCount=1,"
     "CmdFormat=0,PassMode=0,PassWayCounter=0,IsSupportADScreen=1,ADScreenFunOn=1,InPlayInterval=5,"
     "OutPlayInterval=5"},
}};

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

}  // namespace

std::span<const Profile> profiles() noexcept { return kProfiles; }

const Profile* find_profile(std::string_view name) noexcept {
  for (const auto& p : kProfiles) {
    if (protocol::text::iequals(p.name, name)) return &p;
  }
  return nullptr;
}

protocol::Record registration_options(const Profile& profile, std::string_view sn, std::string_view ip) {
  std::string text(profile.registration);
  replace_all(text, "${SN}", sn);
  replace_all(text, "${IP}", ip);
  std::string gateway(ip);
  if (auto dot = gateway.rfind('.'); dot != std::string::npos) {
    gateway.resize(dot);
    gateway += ".1";
  }
  replace_all(text, "${GW}", gateway);
  return protocol::parse_comma_list(text);
}

}  // namespace zkpush::emulator
